"""What kube-apiserver refuses on a write, with its words: values that do not decode (quantities, found through
the OpenAPI document wherever a field is a resource.Quantity) and the validation it does in code (object and
namespace names per kind, labels and annotations, replicas, container, probe and service ports, resource
requests and limits, claims), reduced to those rules. Field errors print as k8s.io/apimachinery's field.Error."""

import json
import re

from tests.sandbox.kube import quantity
from tests.sandbox.kube.openapi import V2_REF, collect_refs

QUANTITY_DEFINITION = "io.k8s.apimachinery.pkg.api.resource.Quantity"
GENERATED_PREFIX_MAX = 58  # SimpleNameGenerator: 63 minus the 5 random characters
_TYPES = {"FieldValueInvalid": "Invalid value", "FieldValueRequired": "Required value", "FieldValueDuplicate": "Duplicate value",
          "FieldValueNotSupported": "Unsupported value", "FieldValueForbidden": "Forbidden"}
_WITHOUT_VALUE = ("FieldValueRequired", "FieldValueForbidden")


def _regex_error(message, pattern, *examples):
    """validation.RegexError."""
    if examples:
        message += " (e.g. " + " or ".join(f"'{example}', " for example in examples)
        return message + f"regex used for validation is '{pattern}')"
    return message + f" (regex used for validation is '{pattern}')"


_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_FMT + ")?"
_LABEL = re.compile(f"^{_LABEL_FMT}$")
_SUBDOMAIN = re.compile(f"^{_SUBDOMAIN_FMT}$")
_DNS1035 = re.compile(f"^{_DNS1035_FMT}$")
_QUALIFIED = re.compile(f"^{_QUALIFIED_FMT}$")
_LABEL_VALUE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_PORT_NAME_CHARS = re.compile("^[-a-z0-9]+$")
LABEL_MESSAGE = _regex_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
                             "end with an alphanumeric character", _LABEL_FMT, "my-name", "123-abc")
SUBDOMAIN_MESSAGE = _regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                                 "must start and end with an alphanumeric character", _SUBDOMAIN_FMT, "example.com")
DNS1035_MESSAGE = _regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
                               "character, and end with an alphanumeric character", _DNS1035_FMT, "my-name", "abc-123")
QUALIFIED_MESSAGE = _regex_error("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                 "alphanumeric character", _QUALIFIED_FMT, "MyName", "my.name", "123-abc")
LABEL_VALUE_MESSAGE = _regex_error("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                                   "must start and end with an alphanumeric character", _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
PORT_RANGE_MESSAGE = "must be between 1 and 65535, inclusive"
PROTOCOLS = ("SCTP", "TCP", "UDP")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _max_length(limit):
    return f"must be no more than {limit} characters"


def go_quote(text):
    """Go's %q of a string (close enough: JSON escapes, non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)


def go_value(value):
    """Go's %+v of a decoded JSON value (maps print with sorted keys)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_value(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


class FieldError:
    """One field.Error: its type (the cause reason), dotted field path, bad value and detail."""

    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def body(self):
        """ErrorBody(): the cause's message."""
        text = _TYPES[self.kind]
        if self.kind not in _WITHOUT_VALUE:
            value = self.value
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif value is None:
                value = "null"
            elif isinstance(value, str):
                value = go_quote(value)
            text += f": {value}"
        return text + (f": {self.detail}" if self.detail else "")

    def __str__(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        return {"reason": self.kind, "message": self.body(), "field": self.field}


def invalid(field, value, detail):
    return FieldError("FieldValueInvalid", field, value, detail)


def required(field, detail=""):
    return FieldError("FieldValueRequired", field, detail=detail)


def not_supported(field, value, supported):
    return FieldError("FieldValueNotSupported", field, value, "supported values: " + ", ".join(go_quote(s) for s in supported))


# --- names
def dns1123_label(value):
    errors = [_max_length(63)] if len(value) > 63 else []
    if not _LABEL.match(value):
        errors.append("must not contain dots" if _SUBDOMAIN.match(value) else LABEL_MESSAGE)
    return errors


def _matching(value, limit, pattern, message):
    """A value that must be at most limit characters and match pattern (both reported, length first)."""
    errors = [_max_length(limit)] if len(value) > limit else []
    return errors + ([] if pattern.match(value) else [message])


def dns1123_subdomain(value):
    return _matching(value, 253, _SUBDOMAIN, SUBDOMAIN_MESSAGE)


def dns1035_label(value):
    return _matching(value, 63, _DNS1035, DNS1035_MESSAGE)


def path_segment(value):
    """path.IsValidPathSegmentName: what RBAC objects must satisfy (`system:controller:x` is fine)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{part}'" for part in ("/", "%") if part in value]


def _as_prefix(check):
    """A name check applied to a generateName: a trailing dash is allowed there (maskTrailingDash)."""
    return lambda value: check(value[:-1] + "a" if len(value) > 1 and value.endswith("-") else value)


# (group, plural) -> the name rule kube-apiserver applies; DNS-1123 subdomain otherwise.
NAME_RULES = {
    ("", "namespaces"): dns1123_label,
    ("", "services"): dns1035_label,
    **{("rbac.authorization.k8s.io", plural): path_segment for plural in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")},
}
# CronJob names leave room for the job names made from them (DNS-1035 label length minus 11).
MAX_NAME_LENGTH = {("batch", "cronjobs"): 52}


def generated_name(prefix, suffix):
    """The name generateName yields: the prefix cut so the name still fits a label, then the random suffix."""
    return prefix[:GENERATED_PREFIX_MAX] + suffix


def qualified_name(value):
    """IsQualifiedName (label and annotation keys): an optional DNS subdomain prefix, '/', and a name."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a valid label key " + QUALIFIED_MESSAGE + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors = []
    if len(parts) == 2:
        prefix = parts[0]
        errors += ["prefix part must be non-empty"] if not prefix else [f"prefix part {m}" for m in dns1123_subdomain(prefix)]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + _max_length(63))
    if not _QUALIFIED.match(name):
        errors.append("name part " + QUALIFIED_MESSAGE)
    return errors


def label_value(value):
    return _matching(value, 63, _LABEL_VALUE, LABEL_VALUE_MESSAGE)


def port_name(value):
    """IsValidPortName (IANA_SVC_NAME)."""
    errors = [_max_length(15)] if len(value) > 15 else []
    if not _PORT_NAME_CHARS.match(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool)


# --- the validator
class Validator:
    """Checks objects of built-in kinds against the OpenAPI document and kube-apiserver's validation rules."""

    def __init__(self, openapi):
        self.openapi = openapi
        self._quantity_holders = None

    # decoding: the values a typed Go object cannot hold
    def _holders(self):
        """Definitions from which a Quantity can be reached: only those need walking."""
        if self._quantity_holders is None:
            refs = {}
            for name, schema in self.openapi.definitions.items():
                found = set()
                collect_refs(schema, found)
                refs[name] = found
            holders = {QUANTITY_DEFINITION}
            grew = True
            while grew:
                grew = False
                for name, found in refs.items():
                    if name not in holders and found & holders:
                        holders.add(name)
                        grew = True
            self._quantity_holders = holders
        return self._quantity_holders

    def undecodable(self, res, obj):
        """The decoder's message for the first value, in document order, that the kind's Go type cannot hold; or None."""
        if res.crd is not None:
            return None
        name = self.openapi.by_gvk.get((res.group, res.version, res.kind))
        return self._walk(name, obj) if name else None

    def _walk(self, name, value):
        if name not in self._holders():
            return None
        if name == QUANTITY_DEFINITION:
            try:
                quantity.from_json(value)
            except quantity.QuantityError as error:
                return str(error)
            return None
        return self._walk_schema(self.openapi.definitions[name], value)

    def _walk_schema(self, schema, value):
        ref = schema.get("$ref") or (schema.get("allOf") or [{}])[0].get("$ref")
        if ref:
            return self._walk(ref[len(V2_REF):], value)
        children = []
        if isinstance(value, dict):
            properties, extra = schema.get("properties") or {}, schema.get("additionalProperties")
            extra = extra if isinstance(extra, dict) else None
            children = [(properties[key] if key in properties else extra, item) for key, item in value.items()]
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            children = [(schema["items"], item) for item in value]
        for sub, item in children:
            found = self._walk_schema(sub, item) if sub is not None else None
            if found:
                return found
        return None

    # validation: what the API server's strategies check in code
    def validate(self, res, obj, creating):
        """The field errors of an object about to be stored (names only on create: they are immutable)."""
        meta = obj.get("metadata") or {}
        errors = self._names(res, meta) if creating else []
        errors += _labels(meta.get("labels"), "metadata.labels") + _annotations(meta.get("annotations"), "metadata.annotations")
        if res.crd is None:
            check = KIND_RULES.get(res.key)
            if check is not None:
                errors += check(obj.get("spec") if isinstance(obj.get("spec"), dict) else {})
        return errors

    @staticmethod
    def _names(res, meta):
        rule = NAME_RULES.get(res.key, dns1123_subdomain)
        errors = []
        if meta.get("generateName"):
            errors += [invalid("metadata.generateName", meta["generateName"], m) for m in _as_prefix(rule)(meta["generateName"])]
        name = meta.get("name") or ""
        if not name:
            return errors + [required("metadata.name", "name or generateName is required")]
        errors += [invalid("metadata.name", name, m) for m in rule(name)]
        limit = MAX_NAME_LENGTH.get(res.key)
        if limit and len(name) > limit:
            errors.append(invalid("metadata.name", name, _max_length(limit)))
        return errors


def _labels(labels, path):
    errors = []
    for key, value in (labels or {}).items() if isinstance(labels, dict) else ():
        errors += [invalid(path, key, m) for m in qualified_name(key)]
        errors += [invalid(path, value, m) for m in label_value(str(value))]
    return errors


def _annotations(annotations, path):
    # the key rule is the label key's, in any case
    return [invalid(path, key, m) for key in (annotations if isinstance(annotations, dict) else {}) for m in qualified_name(key.lower())]


def _replicas(spec, path="spec.replicas"):
    replicas = spec.get("replicas")
    if _is_port(replicas) and replicas < 0:
        return [invalid(path, replicas, "must be greater than or equal to 0")]
    return []


def scale_errors(replicas):
    """ValidateScale, for writes to the scale subresource."""
    return _replicas({"replicas": replicas})


def _port_number(value, path):
    return [invalid(path, value, PORT_RANGE_MESSAGE)] if _is_port(value) and not 1 <= value <= 65535 else []


def _port_number_or_name(value, path):
    if isinstance(value, str):
        return [invalid(path, value, m) for m in port_name(value)]
    return _port_number(value, path)


def _container_ports(ports, path):
    errors, names = [], set()
    for index, port in enumerate(ports or []):
        at = f"{path}[{index}]"
        name = port.get("name")
        if name:
            messages = port_name(name)
            if messages:
                errors += [invalid(f"{at}.name", name, m) for m in messages]
            elif name in names:
                errors.append(FieldError("FieldValueDuplicate", f"{at}.name", name))
            names.add(name)
        if not port.get("containerPort"):
            errors.append(required(f"{at}.containerPort"))
        else:
            errors += _port_number(port["containerPort"], f"{at}.containerPort")
        if port.get("hostPort"):
            errors += _port_number(port["hostPort"], f"{at}.hostPort")
        errors += _protocol(port.get("protocol"), f"{at}.protocol")
    return errors


def _protocol(protocol, path):
    if not protocol:
        return [required(path)]
    return [] if protocol in PROTOCOLS else [not_supported(path, protocol, PROTOCOLS)]


def _probe(probe, path):
    errors = []
    for handler in ("httpGet", "tcpSocket"):
        if isinstance(probe.get(handler), dict) and "port" in probe[handler]:
            errors += _port_number_or_name(probe[handler]["port"], f"{path}.{handler}.port")
    if isinstance(probe.get("grpc"), dict):
        errors += _port_number(probe["grpc"].get("port"), f"{path}.grpc.port")
    return errors


def _resources(resources, path):
    """ValidateResourceRequirements: standard names, no negative amounts, requests not above limits."""
    errors = []
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    parsed = {}
    for which, amounts in (("limits", limits), ("requests", requests)):
        for name, raw in amounts.items():
            at = f"{path}.{which}[{name}]"
            if name not in CONTAINER_RESOURCES and not name.startswith("hugepages-") and "/" not in name:
                errors.append(invalid(at, name, "must be a standard resource for containers"))
            amount = quantity.from_json(raw)
            parsed[which, name] = amount
            if amount.value < 0:
                errors.append(invalid(at, str(amount), "must be greater than or equal to 0"))
    for (which, name), amount in parsed.items():
        limit = parsed.get(("limits", name))
        if which == "requests" and limit is not None and amount.value > limit.value:
            errors.append(invalid(f"{path}.requests", str(amount), f"must be less than or equal to {name} limit of {limit}"))
    return errors


def _containers(containers, path):
    errors, names = [], set()
    for index, container in enumerate(containers or []):
        if not isinstance(container, dict):
            continue
        at = f"{path}[{index}]"
        name = container.get("name") or ""
        if not name:
            errors.append(required(f"{at}.name"))
        else:
            errors += [invalid(f"{at}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                errors.append(FieldError("FieldValueDuplicate", f"{at}.name", name))
            names.add(name)
        errors += _container_ports(container.get("ports"), f"{at}.ports")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if isinstance(container.get(probe), dict):
                errors += _probe(container[probe], f"{at}.{probe}")
        if isinstance(container.get("resources"), dict):
            errors += _resources(container["resources"], f"{at}.resources")
    return errors


def _pod_spec(spec, path):
    return _containers(spec.get("containers"), f"{path}.containers") + _containers(spec.get("initContainers"), f"{path}.initContainers")


def _template(template, path):
    """ValidatePodTemplateSpec: the template's labels and annotations (at `<path>.labels`), then its pod spec."""
    if not isinstance(template, dict):
        return []
    meta = template.get("metadata") or {}
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    return _labels(meta.get("labels"), f"{path}.labels") + _annotations(meta.get("annotations"), f"{path}.annotations") + _pod_spec(spec, f"{path}.spec")


def _workload(spec):
    return _replicas(spec) + _template(spec.get("template"), "spec.template")


def _templated(spec):
    return _template(spec.get("template"), "spec.template")


def _cron_job(spec):
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return _template(job_spec.get("template"), "spec.jobTemplate.spec.template")


def _pod(spec):
    return _pod_spec(spec, "spec")


def _service(spec):
    """ValidateService: ports (named when there are several), target ports, node ports only off ClusterIP."""
    errors = []
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and not headless and spec.get("type") != "ExternalName":
        errors.append(required("spec.ports"))
    names = set()
    for index, port in enumerate(ports):
        at = f"spec.ports[{index}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errors.append(required(f"{at}.name"))
        elif name:
            errors += [invalid(f"{at}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                errors.append(FieldError("FieldValueDuplicate", f"{at}.name", name))
            names.add(name)
        errors += _port_number(port.get("port", 0), f"{at}.port")
        errors += _protocol(port.get("protocol"), f"{at}.protocol")
        errors += _port_number_or_name(port.get("targetPort"), f"{at}.targetPort")
    for index, port in enumerate(ports):
        if port.get("nodePort") and spec.get("type", "ClusterIP") == "ClusterIP":
            errors.append(FieldError("FieldValueForbidden", f"spec.ports[{index}].nodePort", detail="may not be used when `type` is 'ClusterIP'"))
        elif port.get("nodePort"):
            errors += _port_number(port["nodePort"], f"spec.ports[{index}].nodePort")
    return errors


def _claim(spec):
    """ValidatePersistentVolumeClaimSpec: access modes, and a storage request above zero."""
    errors = []
    modes = spec.get("accessModes") or []
    if not modes:
        errors.append(required("spec.accessModes", "at least 1 access mode is required"))
    errors += [not_supported("spec.accessModes", mode, ACCESS_MODES) for mode in modes if mode not in ACCESS_MODES]
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        errors.append(required("spec.resources[storage]"))
    else:
        amount = quantity.from_json(requests["storage"])
        if amount.value <= 0:
            errors.append(invalid("spec.resources[storage]", str(amount), "must be greater than zero"))
    return errors


# (group, plural) -> the spec checks of its kind
KIND_RULES = {
    ("", "pods"): _pod,
    ("", "replicationcontrollers"): _workload,
    ("", "services"): _service,
    ("", "persistentvolumeclaims"): _claim,
    ("apps", "deployments"): _workload,
    ("apps", "replicasets"): _workload,
    ("apps", "statefulsets"): _workload,
    ("apps", "daemonsets"): _templated,
    ("batch", "jobs"): _templated,
    ("batch", "cronjobs"): _cron_job,
}
