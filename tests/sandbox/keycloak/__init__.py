"""Keycloak emulator for the sandbox: Admin REST API and OIDC endpoints of Keycloak 23.

Run with `python -m tests.sandbox.keycloak --host 127.0.0.1 --port N --state PATH [--config PATH]`.
See README.md in this directory for endpoints, config keys and the admin model.
"""
