"""A WSGI gate in front of moto that refuses requests signed for a region AWS does not have.

moto serves every region on one endpoint and answers a region it does not know with a 500 HTML page.
Against AWS a typo such as `us-east-one` never reaches a service; at an endpoint the SDK is pointed at,
AWS refuses a SigV4 credential scoped to an invalid region. The gate answers as that service would, in
its protocol (query XML, JSON, REST-JSON, S3's XML), so the SDK raises a ClientError naming the region.
"""

import functools
import json
import re
import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError

# Credential=<key id>/<date>/<region>/<service>/aws4_request, in the Authorization header or a presigned URL.
_SCOPE = re.compile(r"^[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request$")


@functools.lru_cache(maxsize=1)
def known_regions():
    """Every region of every partition botocore knows."""
    partitions = botocore.session.get_session().get_data("endpoints")["partitions"]
    return frozenset(region for partition in partitions for region in partition["regions"])


@functools.lru_cache(maxsize=None)
def _metadata(service):
    try:
        return botocore.session.get_session().get_service_model(service).metadata
    except UnknownServiceError:
        return {"protocol": "json"}


def credential_scope(environ):
    """(region, service) of a SigV4-signed request, or None for an unsigned one (moto's own API, health probes)."""
    header = environ.get("HTTP_AUTHORIZATION") or ""
    credential = None
    if header.startswith("AWS4-HMAC-SHA256 "):
        for part in header[len("AWS4-HMAC-SHA256 "):].split(","):
            key, _sep, value = part.strip().partition("=")
            if key == "Credential":
                credential = value
    else:
        credential = (parse_qs(environ.get("QUERY_STRING") or "").get("X-Amz-Credential") or [None])[0]
    match = _SCOPE.match(credential or "")
    return (match.group("region"), match.group("service")) if match else None


def refusal(region, service):
    """(status, headers, body) of the service's answer to a credential scoped to an invalid region."""
    request_id = str(uuid.uuid4())
    message = f"Credential should be scoped to a valid region, not '{region}'. "
    metadata = _metadata(service)
    protocol = metadata.get("protocol")
    if service == "s3":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization '
                f"header is malformed; the region '{escape(region)}' is wrong; expecting 'us-east-1'</Message><Region>us-east-1</Region>"
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
        return 400, [("Content-Type", "application/xml")], body
    if protocol in ("query", "ec2"):
        namespace = metadata.get("xmlNamespace") or ""
        body = (f'<ErrorResponse xmlns="{escape(namespace)}"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return 403, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    if protocol == "rest-json":
        return 403, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "InvalidSignatureException"),
                     ("x-amzn-RequestId", request_id)], json.dumps({"message": message})
    return 400, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], json.dumps(
        {"__type": "InvalidSignatureException", "message": message})


class RegionGate:
    """WSGI middleware: requests signed for an unknown region are refused before moto sees (or records) them."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        scope = credential_scope(environ)
        if scope is None or scope[0] in known_regions():
            return self.app(environ, start_response)
        status, headers, body = refusal(*scope)
        data = body.encode("utf-8")
        start_response(f"{status} {'Forbidden' if status == 403 else 'Bad Request'}", headers + [("Content-Length", str(len(data)))])
        return [data]
