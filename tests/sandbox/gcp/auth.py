"""Service-account keys, the OAuth2 token endpoint and bearer-token checks.

Model: every caller is a service account holding a key made here (the bootstrap admin key or one
from IAM keys.create). google-auth signs a JWT-bearer assertion with the key's private half and
posts it to the key file's token_uri (this emulator); the emulator verifies it against the
certificate it kept (only public halves are stored, except the bootstrap key) and issues an opaque
access token. The emulated APIs accept those tokens, and also self-signed JWTs (what google-auth
sends with always_use_jwt_access), as Google does. Valid callers may do everything: IAM policies
are stored and returned, not enforced.
"""

import base64
import datetime
import json
import secrets
import time
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.sandbox.gcp.errors import ApiError, error_info
from tests.sandbox.gcp.store import rfc3339

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google refuses assertions valid for more than an hour, with a little clock skew allowed.
MAX_ASSERTION_LIFETIME = 3600
LEEWAY = 300
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


class OAuthError(Exception):
    """An OAuth2 error answer of the token endpoint: {"error", "error_description"}."""

    def __init__(self, error, description, code=400):
        super().__init__(description)
        self.error, self.description, self.code = error, description, code


def new_key_material(key_id):
    """A fresh RSA-2048 key and a self-signed certificate for it, like Google-made service-account keys."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, key_id)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(private_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(NOT_AFTER)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private_key, hashes.SHA256()))
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    return {
        "privateKeyPem": private_pem,
        "certificatePem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "validAfterTime": rfc3339(now).replace(".000000", ""),
        "validBeforeTime": "9999-12-31T23:59:59Z",
    }


def new_key_id():
    return secrets.token_hex(20)


def key_file(account, key_id, private_pem, token_uri):
    """The JSON key file Google hands out (privateKeyData of TYPE_GOOGLE_CREDENTIALS_FILE)."""
    email = account["email"]
    return {
        "type": "service_account",
        "project_id": account["projectId"],
        "private_key_id": key_id,
        "private_key": private_pem,
        "client_email": email,
        "client_id": account["uniqueId"],
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + urllib.parse.quote(email),
        "universe_domain": "googleapis.com",
    }


def _public_key(store, key_id):
    entry = store.data["keys"].get(key_id)
    if entry is None:
        return None, None
    certificate = x509.load_pem_x509_certificate(entry["certificatePem"].encode())
    return entry, certificate.public_key()


def _account_usable(store, email):
    account = store.data["serviceAccounts"].get(email)
    return account is not None and not account.get("disabled")


def grant(store, form, token_audiences):
    """The token endpoint: a JWT-bearer grant in, an access token out (Google's answer shape)."""
    grant_type = form.get("grant_type")
    if grant_type != JWT_BEARER:
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
    assertion = form.get("assertion") or ""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_grant", "Invalid JWT: Token must be a valid JWT.") from error
    entry, public_key = _public_key(store, header.get("kid"))
    if entry is None or entry.get("disabled"):
        raise OAuthError("invalid_grant", "Invalid JWT Signature.")
    try:
        claims = jwt.decode(assertion, public_key, algorithms=["RS256"], audience=list(token_audiences),
                            leeway=LEEWAY, options={"require": ["iss", "aud", "exp", "iat"]})
    except jwt.InvalidAudienceError as error:
        raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check.") from error
    except jwt.InvalidSignatureError as error:
        raise OAuthError("invalid_grant", "Invalid JWT Signature.") from error
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                                          f"timeframe. Check your iat and exp values in the JWT claim. ({error})") from error
    if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME + 60:
        raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
    if claims["iss"] != entry["email"] or not _account_usable(store, entry["email"]):
        raise OAuthError("invalid_grant", "Invalid grant: account not found")
    lifetime = int(store.config.get("token_lifetime_seconds") or 3600)
    token = "ya29.sandbox." + secrets.token_urlsafe(48)
    store.data["tokens"][token] = {"email": entry["email"], "expiry": time.time() + lifetime,
                                   "scope": claims.get("scope", "")}
    store.mark_dirty()
    return {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}


def _unauthenticated(message, reason, service):
    return ApiError("UNAUTHENTICATED", message, [error_info(reason, "googleapis.com", {"service": service})],
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'})


MISSING = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other "
           "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
INVALID = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
           "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")


def _self_signed(store, token):
    """A JWT signed by a service-account key (google-auth's self-signed JWT access); its email or None."""
    try:
        header = jwt.get_unverified_header(token)
        entry, public_key = _public_key(store, header.get("kid"))
        if entry is None or entry.get("disabled"):
            return None
        claims = jwt.decode(token, public_key, algorithms=["RS256"], leeway=LEEWAY,
                            options={"verify_aud": False, "require": ["iss", "exp"]})
    except jwt.PyJWTError:
        return None
    if claims["iss"] != entry["email"] or claims.get("sub", claims["iss"]) != entry["email"]:
        return None
    return entry["email"]


def authenticate(store, authorization, service):
    """The caller's service-account email for an Authorization header, or 401 UNAUTHENTICATED."""
    scheme, token = ((authorization or "").split(" ", 1) + [""])[:2]
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated(MISSING, "CREDENTIALS_MISSING", service)
    token = token.strip()
    entry = store.data["tokens"].get(token)
    if entry is not None:
        if entry["expiry"] < time.time():
            raise _unauthenticated(INVALID, "ACCESS_TOKEN_EXPIRED", service)
        if _account_usable(store, entry["email"]):
            return entry["email"]
    elif token.count(".") == 2 and not token.startswith("ya29."):
        email = _self_signed(store, token)
        if email and _account_usable(store, email):
            return email
    raise _unauthenticated(INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED", service)


def encode_key_file(document):
    return base64.b64encode(json.dumps(document, indent=2).encode()).decode()
