package org.mono2fhir.hapiserver;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Bearer-token check for tests of authenticated pushes.
 *
 * <p>When a token is configured, every request except {@code GET /fhir/metadata} must carry
 * {@code Authorization: Bearer <token>}; otherwise HAPI answers 401 with an OperationOutcome
 * (AuthenticationException is turned into one by the RestfulServer) and a WWW-Authenticate header.
 * The capability statement stays public, as SMART-on-FHIR servers keep it, so readiness polling and
 * version discovery work without credentials.
 */
@Interceptor
public class AuthTokenInterceptor {

	private final byte[] expected;

	public AuthTokenInterceptor(String token) {
		this.expected = token == null || token.isEmpty() ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
	}

	public boolean isEnabled() {
		return expected != null;
	}

	@Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
	public void check(RequestDetails request, RestOperationTypeEnum operation) {
		if (expected == null || operation == RestOperationTypeEnum.METADATA) {
			return;
		}
		String header = request.getHeader("Authorization");
		byte[] actual = header == null ? new byte[0] : header.trim().getBytes(StandardCharsets.UTF_8);
		if (!MessageDigest.isEqual(expected, actual)) {
			AuthenticationException e = new AuthenticationException(
					header == null ? "Missing Authorization: Bearer token" : "Invalid bearer token");
			e.addResponseHeader("WWW-Authenticate", "Bearer realm=\"mono2fhir-test\"");
			throw e;
		}
	}
}
