"""A Kubernetes API server emulator for the test sandbox (`python -m tests.sandbox.kube`)."""
