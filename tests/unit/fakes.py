"""Stand-ins the unit tests share: an AnsibleModule for the common runner, an HTTP response for open_url."""


class ModuleExit(Exception):
    """exit_json or fail_json was called: failed tells which, result holds what the module returned."""

    def __init__(self, failed, result):
        super().__init__(result)
        self.failed = failed
        self.result = result


class FakeModule:
    """What run_module uses of AnsibleModule; exit_json and fail_json end the call as they do for real."""

    def __init__(self, params=None, check_mode=False):
        self.params = params or {}
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise ModuleExit(False, result)

    def fail_json(self, **result):
        raise ModuleExit(True, result)


class FakeResponse:
    """What the Keycloak client reads of open_url's answer."""

    def __init__(self, status, body, headers=None):
        self.status = status
        self.headers = headers or {}
        self._body = body

    def read(self):
        return self._body.encode()
