package org.mono2fhir.hapiserver;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binary.api.IBinaryStorageSvc;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import jakarta.persistence.EntityManagerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.ServletWebServerFactoryAutoConfiguration;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

import java.util.Properties;
import javax.sql.DataSource;

/**
 * A minimal HAPI FHIR JPA server for mono2fhir's integration tests.
 *
 * <p>One process serves one FHIR version, chosen at start with {@code --fhir-version=R4|R5}
 * (one database holds one version). Storage is H2 in memory, so every start is a clean server.
 *
 * <p>Spring Boot auto-configuration is NOT enabled wholesale: HAPI drags Quartz, Flyway,
 * Elasticsearch clients, springdoc, ... onto the classpath and Boot would try to configure all of
 * them. We import only the embedded-web-server auto-configuration and define everything else here,
 * so "Quartz/Flyway/Hibernate-JPA auto-configuration off" holds by construction.
 *
 * <p>Validation: no bean of ours is needed. HAPI 8.8's JpaConfig registers the validation support
 * chain ({@code JpaValidationSupportChain}: core definitions from hapi-fhir-validation-resources-r4/r5,
 * stored conformance resources, in-memory terminology, common code systems such as UCUM, caching
 * built in) and the instance validator behind {@code $validate}. Nothing in the chain is remote, and
 * code systems it cannot expand (SNOMED CT, LOINC, ATC, RxNorm) give warnings, not errors.
 * {@code $validate} answers 200 with the OperationOutcome whatever the result (HAPI 8 behaviour).
 *
 * <p>Arguments (Spring properties, {@code --name=value}): {@code fhir-version} (R4, default, or R5),
 * {@code server.port} (default 8080), {@code server.address} (default 127.0.0.1),
 * {@code auth-token} (empty = no authentication).
 */
@Configuration
@ImportAutoConfiguration({
	// Reads server.port / server.address and creates the embedded Tomcat.
	ServletWebServerFactoryAutoConfiguration.class,
	// Resolves ${...} placeholders in @Value.
	PropertyPlaceholderAutoConfiguration.class
})
@Import({
	// Beans HAPI expects the host application to supply and which have one obvious implementation:
	// fulltext search service (a no-op while Hibernate Search is off), stale-search deleter,
	// database-backed paging provider, resource-supported service, resource-count cache.
	HapiJpaConfig.class,
	// The thread pool factory HAPI's batch and transaction code asks for.
	ThreadPoolFactoryConfig.class,
	// HAPI's batch framework (job coordinator, work-chunk storage): the terminology service and
	// $reindex-style operations are built on it, so the JPA config cannot start without it.
	JpaBatch2Config.class,
	// The batch job definitions (delete-expunge, reindex, ...) that HAPI's DAOs are wired to.
	Batch2JobsConfig.class,
	// The in-memory message broker (LinkedBlockingQueue channels) that batch jobs run on.
	SubscriptionChannelConfig.class
})
public class HapiTestServer {

	public static void main(String[] args) {
		String version = argValue(args, "fhir-version", "R4").toUpperCase();
		Class<?> versionConfig;
		switch (version) {
			case "R4" -> versionConfig = R4Config.class;
			case "R5" -> versionConfig = R5Config.class;
			default -> throw new IllegalArgumentException("--fhir-version must be R4 or R5, not " + version);
		}
		SpringApplication app = new SpringApplication(HapiTestServer.class, versionConfig);
		// HAPI's own configuration classes contain circular bean references.
		app.setAllowCircularReferences(true);
		app.run(args);
	}

	/** Accepts both "--name=value" and "--name value". */
	static String argValue(String[] args, String name, String defaultValue) {
		for (int i = 0; i < args.length; i++) {
			if (args[i].equals("--" + name) && i + 1 < args.length) {
				return args[i + 1];
			}
			if (args[i].startsWith("--" + name + "=")) {
				return args[i].substring(name.length() + 3);
			}
		}
		return defaultValue;
	}

	// ---------------------------------------------------------------- storage

	/** An in-memory H2 database, kept alive for the life of the JVM (DB_CLOSE_DELAY=-1). */
	@Bean(destroyMethod = "close")
	public DataSource dataSource() {
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl("jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1");
		config.setUsername("sa");
		config.setPassword("");
		config.setMaximumPoolSize(20);
		return new HikariDataSource(config);
	}

	/**
	 * HAPI's storage settings. Everything is HAPI's default, which is what mono2fhir's users run:
	 * external (absolute) references rejected (HAPI-0507), referential integrity enforced on write
	 * (HAPI-1094), client ids must contain a letter, unchanged updates create no new version.
	 */
	@Bean
	public JpaStorageSettings storageSettings() {
		JpaStorageSettings settings = new JpaStorageSettings();
		settings.setAllowExternalReferences(false);
		return settings;
	}

	/** Required by the JPA config; partitioning stays off. */
	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	/** Required by the JPA config; no subscription channel types are enabled. */
	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings();
	}

	/** Binary resources are stored in the database (required bean; no file system store). */
	@Bean
	public IBinaryStorageSvc binaryStorageSvc() {
		return new DatabaseBinaryContentStorageSvcImpl();
	}

	/**
	 * The JPA entity manager factory, built with HAPI's helper (its dialect wrapper, entity packages
	 * and persistence provider) on our H2 data source.
	 */
	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			DataSource dataSource,
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings) {
		LocalContainerEntityManagerFactoryBean factory =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		factory.setPersistenceUnitName("HAPI_PU");
		factory.setDataSource(dataSource);
		Properties jpa = new Properties();
		jpa.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
		jpa.put("hibernate.hbm2ddl.auto", "update");
		// No Lucene/Elasticsearch indexing: plain database search only.
		jpa.put("hibernate.search.enabled", "false");
		jpa.put("hibernate.format_sql", "false");
		jpa.put("hibernate.show_sql", "false");
		jpa.put("hibernate.cache.use_query_cache", "false");
		jpa.put("hibernate.cache.use_second_level_cache", "false");
		factory.setJpaProperties(jpa);
		return factory;
	}

	/** Transactions for HAPI's DAOs. */
	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	// ---------------------------------------------------------------- REST

	/**
	 * The FHIR REST server: the resource providers generated for the chosen version (read, search,
	 * history, create/update/delete, $validate, ...), the system provider (transaction/batch bundles,
	 * system history) and a capability statement built from the database's search parameters.
	 */
	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviders,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider,
			AuthTokenInterceptor authTokenInterceptor) {
		FhirContext ctx = systemDao.getContext();
		// No narrative generation: stored resources are exactly what the client sent.
		ctx.setNarrativeGenerator(new NullNarrativeGenerator());

		RestfulServer server = new RestfulServer(ctx);
		server.registerProviders(resourceProviders.createProviders());
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capabilities.setImplementationDescription("mono2fhir HAPI FHIR test server (" + ctx.getVersion().getVersion() + ")");
		server.setServerConformanceProvider(capabilities);
		server.setPagingProvider(pagingProvider);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		if (authTokenInterceptor.isEnabled()) {
			server.registerInterceptor(authTokenInterceptor);
		}
		return server;
	}

	/** Mounts the FHIR server at /fhir/*, initialised at start-up rather than on the first request. */
	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer restfulServer) {
		ServletRegistrationBean<RestfulServer> registration =
				new ServletRegistrationBean<>(restfulServer, "/fhir/*");
		registration.setName("fhir");
		registration.setLoadOnStartup(1);
		return registration;
	}

	/** Optional bearer-token check; off unless --auth-token=... is given. */
	@Bean
	public AuthTokenInterceptor authTokenInterceptor(@Value("${auth-token:}") String token) {
		return new AuthTokenInterceptor(token);
	}
}
