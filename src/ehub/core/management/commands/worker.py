"""`ehub worker`: run background tasks from the database queue (django-tasks-db's worker)."""

from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

# Periodic jobs that re-enqueue themselves (django-tasks has no scheduler): each is started
# here if none is waiting. Dotted paths, so core does not import the contexts.
PERIODIC_STARTERS = [
    "ehub.core.tasks.schedule_orphan_sweep",
    "ehub.catalog.tasks.schedule_expiry_sweep",
    "ehub.campaigns.tasks.schedule_close_sweep",
    "ehub.payments.tasks.schedule_payout_sweep",
    "ehub.ledger.tasks.schedule_expiry_sweep",
    "ehub.orders.tasks.schedule_sweeps",
]


class Command(DbWorkerCommand):
    help = "Run eHub's background worker: executes queued tasks and event deliveries until stopped."

    def handle(self, *args, **options):
        from ehub.core.tasks import requeue_orphaned_tasks

        # A worker that died mid-task left it RUNNING; pick those up first (after the lease).
        requeue_orphaned_tasks()
        for path in PERIODIC_STARTERS:
            import_string(path)()
        return super().handle(*args, **options)
