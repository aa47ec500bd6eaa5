//! MariaDB and the backend under test, as containers (testcontainers) or local child processes.
