"""A password-protected Helm chart repository and OCI registry for the test sandbox (`python -m tests.sandbox.charts`)."""
