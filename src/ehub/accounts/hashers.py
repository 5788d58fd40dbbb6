"""Password hashers. Production uses Django's Argon2 hasher; tests use cheaper Argon2 parameters."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with small costs so the test suite stays quick; never configured in production."""

    algorithm = "argon2"
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
