# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one module runner: build the client, run the module's ensure function, exit or fail.

This is the only place in the collection that calls ``fail_json`` for an API failure; clients and
domain code raise the errors of ``common.errors``.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import watchdog
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.errors import ApiError, MissingDependency


def build_module(connection_spec, argument_spec, constraints=None, **kwargs):
    """An AnsibleModule with a system's connection options added; every module supports check mode.

    constraints: the system's own mutually_exclusive / required_one_of / required_together lists,
    appended to the module's.
    """
    spec = dict(connection_spec)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    for key, extra in (constraints or {}).items():
        kwargs[key] = list(kwargs.get(key) or []) + list(extra)
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module, make_client, ensure, count_requests=False):
    """exit_json(**ensure(client, params, check_mode)) with client = make_client(module), or one failure payload.

    A result's ``warnings`` become module warnings. A failure carries ``msg`` (the error as text, with the
    changes made before it), ``error`` (``ApiError.as_dict()``), ``changes_made``, ``changed`` and the
    error's ``result`` fields. With count_requests, both carry ``api_requests``, the client's
    ``request_count`` (0 when the client could not be made). The module stops when the ansible-playbook
    running it on this host is killed (``watchdog``).
    """
    watchdog.watch_controller()

    def add_request_count(fields):
        if count_requests:
            fields["api_requests"] = getattr(client, "request_count", 0)

    client = None
    try:
        client = make_client(module)
        result = ensure(client, module.params, module.check_mode)
    except MissingDependency as error:
        module.fail_json(msg=error.message, exception=error.traceback)
    except ApiError as error:
        message = str(error)
        if error.done:
            message += "; already done before the failure: " + ", ".join(error.done)
        failure = {"changes_made": list(error.done), "changed": bool(error.done)}
        failure.update(error.result)
        failure["error"] = error.as_dict()
        add_request_count(failure)
        module.fail_json(msg=message, **failure)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    for warning in result.pop("warnings", []):
        module.warn(warning)
    add_request_count(result)
    module.exit_json(**result)
