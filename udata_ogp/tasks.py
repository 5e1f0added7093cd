"""Celery jobs of the plugin (entry point `udata.tasks`): must not touch the database at import."""

from udata.tasks import get_logger

log = get_logger(__name__)
