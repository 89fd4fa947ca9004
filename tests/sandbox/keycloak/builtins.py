"""What Keycloak 23 puts into every new realm: settings, client scopes with their mappers, clients.

Values follow what a fresh Keycloak realm reports through the Admin API; only the parts a
client of the emulator can observe are modelled. `basic` (Keycloak 25+) is included because
the sandbox's modules expect `sub` to come from a scope, as on current Keycloak.
"""

import copy

# Keys of a RealmRepresentation that describe nested entities rather than realm settings.
REALM_NESTED_KEYS = frozenset({
    "users", "clients", "clientScopes", "groups", "roles", "defaultDefaultClientScopes", "defaultOptionalClientScopes",
    "scopeMappings", "clientScopeMappings", "identityProviders", "identityProviderMappers", "components",
    "authenticationFlows", "authenticatorConfig", "requiredActions", "federatedUsers", "applications",
    "oauthClients", "clientTemplates", "protocolMappers", "userFederationProviders", "userFederationMappers",
    "applicationScopeMappings", "social", "socialProviders", "updateProfileOnInitialSocialLogin",
})

# What PUT /admin/realms/{realm} stores (Keycloak 23's RealmAdminResource.updateRealm, then the export/import manager's
# updateRealm): a field given non-null; `realm` renames, `attributes` replaces the attribute map. Anything else the
# representation may carry (id, defaultRole, otpSupportedApplications, localizationTexts, keycloakVersion, keys,
# nested entities, cache switches) is accepted and ignored.
REALM_UPDATABLE_KEYS = frozenset({
    "displayName", "displayNameHtml", "enabled", "userManagedAccessAllowed", "bruteForceProtected", "permanentLockout",
    "maxFailureWaitSeconds", "minimumQuickLoginWaitSeconds", "waitIncrementSeconds", "quickLoginCheckMilliSeconds",
    "maxDeltaTimeSeconds", "failureFactor", "registrationAllowed", "registrationEmailAsUsername", "rememberMe", "verifyEmail",
    "loginWithEmailAllowed", "duplicateEmailsAllowed", "resetPasswordAllowed", "editUsernameAllowed", "sslRequired",
    "accessCodeLifespan", "accessCodeLifespanUserAction", "accessCodeLifespanLogin", "actionTokenGeneratedByAdminLifespan",
    "actionTokenGeneratedByUserLifespan", "oauth2DeviceCodeLifespan", "oauth2DevicePollingInterval", "oAuth2DeviceCodeLifespan",
    "oAuth2DevicePollingInterval", "notBefore", "defaultSignatureAlgorithm", "revokeRefreshToken", "refreshTokenMaxReuse",
    "accessTokenLifespan", "accessTokenLifespanForImplicitFlow", "ssoSessionIdleTimeout", "ssoSessionMaxLifespan",
    "ssoSessionIdleTimeoutRememberMe", "ssoSessionMaxLifespanRememberMe", "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespanEnabled", "offlineSessionMaxLifespan", "clientSessionIdleTimeout", "clientSessionMaxLifespan",
    "clientOfflineSessionIdleTimeout", "clientOfflineSessionMaxLifespan", "requiredCredentials", "loginTheme", "accountTheme",
    "adminTheme", "emailTheme", "eventsEnabled", "eventsExpiration", "eventsListeners", "enabledEventTypes", "adminEventsEnabled",
    "adminEventsDetailsEnabled", "passwordPolicy", "otpPolicyType", "otpPolicyAlgorithm", "otpPolicyInitialCounter",
    "otpPolicyDigits", "otpPolicyLookAheadWindow", "otpPolicyPeriod", "otpPolicyCodeReusable",
    "webAuthnPolicyRpEntityName", "webAuthnPolicySignatureAlgorithms", "webAuthnPolicyRpId",
    "webAuthnPolicyAttestationConveyancePreference", "webAuthnPolicyAuthenticatorAttachment", "webAuthnPolicyRequireResidentKey",
    "webAuthnPolicyUserVerificationRequirement", "webAuthnPolicyCreateTimeout", "webAuthnPolicyAvoidSameAuthenticatorRegister",
    "webAuthnPolicyAcceptableAaguids", "webAuthnPolicyExtraOrigins", "webAuthnPolicyPasswordlessRpEntityName",
    "webAuthnPolicyPasswordlessSignatureAlgorithms", "webAuthnPolicyPasswordlessRpId",
    "webAuthnPolicyPasswordlessAttestationConveyancePreference", "webAuthnPolicyPasswordlessAuthenticatorAttachment",
    "webAuthnPolicyPasswordlessRequireResidentKey", "webAuthnPolicyPasswordlessUserVerificationRequirement",
    "webAuthnPolicyPasswordlessCreateTimeout", "webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister",
    "webAuthnPolicyPasswordlessAcceptableAaguids", "webAuthnPolicyPasswordlessExtraOrigins", "clientPolicies", "clientProfiles",
    "smtpServer", "browserSecurityHeaders", "internationalizationEnabled", "supportedLocales", "defaultLocale", "browserFlow",
    "registrationFlow", "directGrantFlow", "resetCredentialsFlow", "clientAuthenticationFlow", "dockerAuthenticationFlow",
})
# Attributes Keycloak writes back from its CIBA settings whenever the attribute map is replaced.
CIBA_ATTRIBUTE_DEFAULTS = {"cibaBackchannelTokenDeliveryMode": "poll"}

DEFAULT_DEFAULT_SCOPES = ("profile", "email", "roles", "web-origins", "acr", "basic", "role_list")
DEFAULT_OPTIONAL_SCOPES = ("offline_access", "address", "phone", "microprofile-jwt")

ACCESS = {"view": True, "configure": True, "manage": True}


def realm_defaults(name):
    return {
        "realm": name, "notBefore": 0, "defaultSignatureAlgorithm": "RS256", "revokeRefreshToken": False,
        "refreshTokenMaxReuse": 0, "accessTokenLifespan": 300, "accessTokenLifespanForImplicitFlow": 900,
        "ssoSessionIdleTimeout": 1800, "ssoSessionMaxLifespan": 36000, "ssoSessionIdleTimeoutRememberMe": 0,
        "ssoSessionMaxLifespanRememberMe": 0, "offlineSessionIdleTimeout": 2592000, "offlineSessionMaxLifespanEnabled": False,
        "offlineSessionMaxLifespan": 5184000, "clientSessionIdleTimeout": 0, "clientSessionMaxLifespan": 0,
        "clientOfflineSessionIdleTimeout": 0, "clientOfflineSessionMaxLifespan": 0, "accessCodeLifespan": 60,
        "accessCodeLifespanUserAction": 300, "accessCodeLifespanLogin": 1800, "actionTokenGeneratedByAdminLifespan": 43200,
        "actionTokenGeneratedByUserLifespan": 300, "oauth2DeviceCodeLifespan": 600, "oauth2DevicePollingInterval": 5,
        "enabled": True, "sslRequired": "external", "registrationAllowed": False, "registrationEmailAsUsername": False,
        "rememberMe": False, "verifyEmail": False, "loginWithEmailAllowed": True, "duplicateEmailsAllowed": False,
        "resetPasswordAllowed": False, "editUsernameAllowed": False, "bruteForceProtected": False, "permanentLockout": False,
        "maxFailureWaitSeconds": 900, "minimumQuickLoginWaitSeconds": 60, "waitIncrementSeconds": 60,
        "quickLoginCheckMilliSeconds": 1000, "maxDeltaTimeSeconds": 43200, "failureFactor": 30,
        "defaultRole": {"name": f"default-roles-{name}", "description": "${role_default-roles}", "composite": True,
                        "clientRole": False},
        "requiredCredentials": ["password"], "otpPolicyType": "totp", "otpPolicyAlgorithm": "HmacSHA1",
        "otpPolicyInitialCounter": 0, "otpPolicyDigits": 6, "otpPolicyLookAheadWindow": 1, "otpPolicyPeriod": 30,
        "otpPolicyCodeReusable": False, "otpSupportedApplications": ["totpAppFreeOTPName", "totpAppGoogleName", "totpAppMicrosoftAuthenticatorName"],
        "localizationTexts": {}, "browserSecurityHeaders": {}, "smtpServer": {}, "eventsEnabled": False, "eventsListeners": ["jboss-logging"],
        "enabledEventTypes": [], "adminEventsEnabled": False, "adminEventsDetailsEnabled": False,
        "internationalizationEnabled": False, "supportedLocales": [], "browserFlow": "browser", "registrationFlow": "registration",
        "directGrantFlow": "direct grant", "resetCredentialsFlow": "reset credentials", "clientAuthenticationFlow": "clients",
        "dockerAuthenticationFlow": "docker auth", "attributes": {"frontendUrl": "", "cibaBackchannelTokenDeliveryMode": "poll"},
        "userManagedAccessAllowed": False,
    }


def client_defaults():
    return {
        "surrogateAuthRequired": False, "enabled": True, "alwaysDisplayInConsole": False,
        "clientAuthenticatorType": "client-secret", "redirectUris": [], "webOrigins": [], "notBefore": 0,
        "bearerOnly": False, "consentRequired": False, "standardFlowEnabled": True, "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False, "publicClient": False,
        "frontchannelLogout": False, "protocol": "openid-connect", "attributes": {}, "authenticationFlowBindingOverrides": {},
        "fullScopeAllowed": True, "nodeReRegistrationTimeout": -1,
    }


def _mapper(name, mapper_type, config, protocol="openid-connect"):
    return {"name": name, "protocol": protocol, "protocolMapper": mapper_type, "consentRequired": False, "config": config}


def _flags(*tokens):
    """Mapper config switching the claim on for the given token kinds (`id`, `access`, `userinfo`, `introspection`)."""
    return {f"{kind}.token.claim": "true" for kind in tokens}


def _claims(claim, json_type="String", access=True, id_token=True, userinfo=True, **extra):
    config = {"claim.name": claim, "jsonType.label": json_type, "access.token.claim": str(access).lower(),
              "id.token.claim": str(id_token).lower(), "userinfo.token.claim": str(userinfo).lower(),
              "introspection.token.claim": "true"}
    config.update(extra)
    return config


def _attribute(name, attribute, claim, json_type="String", mapper_type="oidc-usermodel-attribute-mapper"):
    return _mapper(name, mapper_type, dict(_claims(claim, json_type), **{"user.attribute": attribute}))


def _scope(name, mappers, include_in_scope=True, consent=True, consent_text=None, protocol="openid-connect", description=None):
    attributes = {"include.in.token.scope": str(include_in_scope).lower(), "display.on.consent.screen": str(consent).lower()}
    if consent_text:
        attributes["consent.screen.text"] = consent_text
    scope = {"name": name, "protocol": protocol, "attributes": attributes, "protocolMappers": mappers}
    if description:
        scope["description"] = description
    return scope


def client_scopes():
    """The client scopes of a new realm, each with its protocol mappers."""
    property_mapper = "oidc-usermodel-property-mapper"
    scopes = [
        _scope("profile", [
            _mapper("full name", "oidc-full-name-mapper", _flags("id", "access", "userinfo", "introspection")),
            _attribute("username", "username", "preferred_username", mapper_type=property_mapper),
            _attribute("given name", "firstName", "given_name", mapper_type=property_mapper),
            _attribute("family name", "lastName", "family_name", mapper_type=property_mapper),
            _attribute("middle name", "middleName", "middle_name"),
            _attribute("nickname", "nickname", "nickname"),
            _attribute("profile", "profile", "profile"),
            _attribute("picture", "picture", "picture"),
            _attribute("website", "website", "website"),
            _attribute("gender", "gender", "gender"),
            _attribute("birthdate", "birthdate", "birthdate"),
            _attribute("zoneinfo", "zoneinfo", "zoneinfo"),
            _attribute("locale", "locale", "locale"),
            _attribute("updated at", "updatedAt", "updated_at", json_type="long"),
        ], consent_text="${profileScopeConsentText}", description="OpenID Connect built-in scope: profile"),
        _scope("email", [
            _attribute("email", "email", "email", mapper_type=property_mapper),
            _attribute("email verified", "emailVerified", "email_verified", json_type="boolean", mapper_type=property_mapper),
        ], consent_text="${emailScopeConsentText}", description="OpenID Connect built-in scope: email"),
        _scope("address", [
            _mapper("address", "oidc-address-mapper", dict(
                _flags("id", "access", "userinfo", "introspection"),
                **{f"user.attribute.{part}": part for part in ("formatted", "country", "postal_code", "street", "region", "locality")})),
        ], consent_text="${addressScopeConsentText}", description="OpenID Connect built-in scope: address"),
        _scope("phone", [
            _attribute("phone number", "phoneNumber", "phone_number"),
            _attribute("phone number verified", "phoneNumberVerified", "phone_number_verified", json_type="boolean"),
        ], consent_text="${phoneScopeConsentText}", description="OpenID Connect built-in scope: phone"),
        _scope("offline_access", [], consent_text="${offlineAccessScopeConsentText}",
               description="OpenID Connect built-in scope: offline_access"),
        _scope("roles", [
            _mapper("realm roles", "oidc-usermodel-realm-role-mapper",
                    dict(_claims("realm_access.roles", id_token=False, userinfo=False), multivalued="true", **{"user.attribute": "foo"})),
            _mapper("client roles", "oidc-usermodel-client-role-mapper",
                    dict(_claims("resource_access.${client_id}.roles", id_token=False, userinfo=False), multivalued="true",
                         **{"user.attribute": "foo"})),
            _mapper("audience resolve", "oidc-audience-resolve-mapper", _flags("access", "introspection")),
        ], include_in_scope=False, consent_text="${rolesScopeConsentText}",
            description="OpenID Connect scope for add user roles to the access token"),
        _scope("web-origins", [
            _mapper("allowed web origins", "oidc-allowed-origins-mapper", _flags("access", "introspection")),
        ], include_in_scope=False, consent=False, consent_text="",
            description="OpenID Connect scope for add allowed web origins to the access token"),
        _scope("microprofile-jwt", [
            _attribute("upn", "username", "upn", mapper_type=property_mapper),
            _mapper("groups", "oidc-usermodel-realm-role-mapper",
                    dict(_claims("groups"), multivalued="true", **{"user.attribute": "foo"})),
        ], consent=False, description="Microprofile - JWT built-in scope"),
        _scope("acr", [
            _mapper("acr loa level", "oidc-acr-mapper", _flags("id", "access", "introspection")),
        ], include_in_scope=False, consent=False,
            description="OpenID Connect scope for add acr (authentication context class reference) to the token"),
        _scope("basic", [
            _mapper("sub", "oidc-sub-mapper", _flags("access", "introspection")),
            _mapper("auth_time", "oidc-usersessionmodel-note-mapper",
                    dict(_claims("auth_time", json_type="long", userinfo=False), **{"user.session.note": "AUTH_TIME"})),
        ], include_in_scope=False, consent=False, description="OpenID Connect scope for add all basic claims to the token"),
        _scope("role_list", [
            _mapper("role list", "saml-role-list-mapper",
                    {"single": "false", "attribute.nameformat": "Basic", "attribute.name": "Role"}, protocol="saml"),
        ], consent_text="${samlRoleListScopeConsentText}", protocol="saml", description="SAML role list"),
    ]
    return copy.deepcopy(scopes)


def clients(realm_name):
    """The clients of a new realm (the master realm's per-realm admin clients are added by the store)."""
    base = f"/realms/{realm_name}/account/"
    admin_base = f"/admin/{realm_name}/console/"
    pkce = {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"}
    made = [
        {"clientId": "account", "name": "${client_account}", "rootUrl": "${authBaseUrl}", "baseUrl": base,
         "redirectUris": [f"{base}*"], "publicClient": True, "attributes": {"post.logout.redirect.uris": "+"}},
        {"clientId": "account-console", "name": "${client_account-console}", "rootUrl": "${authBaseUrl}", "baseUrl": base,
         "redirectUris": [f"{base}*"], "publicClient": True, "attributes": dict(pkce),
         "protocolMappers": [_mapper("audience resolve", "oidc-audience-resolve-mapper", {})]},
        {"clientId": "admin-cli", "name": "${client_admin-cli}", "publicClient": True, "standardFlowEnabled": False,
         "directAccessGrantsEnabled": True, "attributes": {}},
        {"clientId": "broker", "name": "${client_broker}", "bearerOnly": True, "attributes": {}},
        {"clientId": "security-admin-console", "name": "${client_security-admin-console}", "rootUrl": "${authAdminUrl}",
         "baseUrl": admin_base, "redirectUris": [f"{admin_base}*"], "webOrigins": ["+"], "publicClient": True,
         "attributes": dict(pkce),
         "protocolMappers": [_mapper("locale", "oidc-usermodel-attribute-mapper", dict(_claims("locale"), **{"user.attribute": "locale"}))]},
    ]
    if realm_name == "master":
        made.append({"clientId": "master-realm", "name": "master Realm", "bearerOnly": True, "attributes": {}})
    else:
        made.append({"clientId": "realm-management", "name": "${client_realm-management}", "bearerOnly": True, "attributes": {}})
    return made


# Client roles of `realm-management` (and of master's `<realm>-realm` clients, without realm-admin).
MANAGEMENT_ROLES = (
    "create-client", "impersonation", "manage-authorization", "manage-clients", "manage-events", "manage-identity-providers",
    "manage-realm", "manage-users", "query-clients", "query-groups", "query-realms", "query-users", "view-authorization",
    "view-clients", "view-events", "view-identity-providers", "view-realm", "view-users",
)
ACCOUNT_ROLES = ("manage-account", "manage-account-links", "view-profile", "view-applications", "view-consent", "manage-consent",
                 "view-groups", "delete-account")
# Roles every new user gets through the realm's default role.
DEFAULT_ROLE_REALM = ("offline_access", "uma_authorization")
DEFAULT_ROLE_ACCOUNT = ("view-profile", "manage-account")
