"""Per-realm RS256 signing keys: generation, JWKS publication, signing and verification."""

import base64
import datetime
import hashlib
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_CACHE = {}


def new_signing_key(realm_name):
    """A fresh RSA key with a self-signed certificate, as Keycloak's rsa-generated key provider makes."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, realm_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(private, hashes.SHA256()))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key = {"kid": uuid.uuid4().hex, "algorithm": "RS256", "private_pem": pem.decode("ascii"),
           "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii")}
    _CACHE[key["kid"]] = (private, cert)
    return key


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value):
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _loaded(key):
    cached = _CACHE.get(key["kid"])
    if cached is None:
        # The emulator made these keys itself; OpenSSL's RSA consistency check would only cost start-up time.
        private = serialization.load_pem_private_key(key["private_pem"].encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True)
        cert = x509.load_pem_x509_certificate(key["certificate_pem"].encode("ascii"))
        cached = (private, cert)
        _CACHE[key["kid"]] = cached
    return cached


def jwk(key):
    """The public JWK Keycloak publishes at .../protocol/openid-connect/certs."""
    private, cert = _loaded(key)
    numbers = private.public_key().public_numbers()
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"kid": key["kid"], "kty": "RSA", "alg": "RS256", "use": "sig", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")], "x5t": _b64(hashlib.sha1(der).digest()),  # nosec - JWK thumbprint format
            "x5t#S256": _b64(hashlib.sha256(der).digest())}


def public_key_pem(key):
    private = _loaded(key)[0]
    return private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def sign(key, claims, typ="JWT"):
    private = _loaded(key)[0]
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["kid"], "typ": typ})


def verify(key, token):
    """Claims of a token signed with key; raises jwt.PyJWTError when invalid or expired."""
    private = _loaded(key)[0]
    return jwt.decode(token, private.public_key(), algorithms=["RS256"], options={"verify_aud": False, "require": ["exp", "iat"]})


def unverified_claims(token):
    return jwt.decode(token, options={"verify_signature": False})
