"""`ehub worker`: run background tasks from the database queue (django-tasks-db's worker)."""

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = "Run eHub's background worker: executes queued tasks and event deliveries until stopped."
