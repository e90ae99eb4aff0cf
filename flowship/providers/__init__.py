"""Talking to the outside world: object storage now; Kubernetes and Airflow as they arrive."""
