package org.mono2fhir.hapiserver;

import ca.uhn.fhir.jpa.config.r5.JpaR5Config;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * HAPI's R5 JPA configuration (FhirContext, DAOs, resource providers, system DAO), added to the
 * application by {@link HapiTestServer#main} when started with --fhir-version=R5. It is a top-level
 * class on purpose: a nested one would be picked up by Spring whichever version was asked for.
 */
@Configuration
@Import(JpaR5Config.class)
public class R5Config {}
