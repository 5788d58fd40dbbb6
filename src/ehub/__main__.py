"""The `ehub` command: Django's manage.py with eHub's settings (also `python -m ehub`)."""

import importlib
import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehub.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:  # fail with the real reason, not the AppRegistryNotReady Django reports later
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"ehub: configuration error: {exc}\n")
        raise SystemExit(2) from None

    from django.core.management import execute_from_command_line

    execute_from_command_line(argv if argv is not None else sys.argv)


if __name__ == "__main__":
    main()
