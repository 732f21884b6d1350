package org.mono2fhir.hapiserver;

import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * HAPI's R4 JPA configuration (FhirContext, DAOs, resource providers, system DAO), added to the
 * application by {@link HapiTestServer#main} when started with --fhir-version=R4. It is a top-level
 * class on purpose: a nested one would be picked up by Spring whichever version was asked for.
 */
@Configuration
@Import(JpaR4Config.class)
public class R4Config {}
