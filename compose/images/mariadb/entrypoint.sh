#!/bin/sh
# Initialises an empty data directory, then runs mariadbd in the foreground.
# MARIADB_PORT (default 3306), MARIADB_BIND (default 127.0.0.1: on a bridge network set 0.0.0.0 and a
# password), MARIADB_ROOT_PASSWORD (default empty: root without password, fit only for a private network), MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD (optional),
# and *.sql files in /docker-entrypoint-initdb.d are applied once, through --init-file, so the server starts once
# and "ready for connections" is printed once, when the data is in place.
set -eu
DATADIR=/var/lib/mysql
PORT="${MARIADB_PORT:-3306}"
BIND="${MARIADB_BIND:-127.0.0.1}"
INIT=/run/mysqld/init.sql
: > "$INIT"
if [ ! -d "$DATADIR/mysql" ]; then
  if [ -d /var/lib/mysql-template/mysql ]; then
    cp -a /var/lib/mysql-template/. "$DATADIR/"
  else
    mariadb-install-db --no-defaults --datadir="$DATADIR" --user=mysql --auth-root-authentication-method=normal \
      --skip-test-db --innodb-log-file-size=4M --innodb-buffer-pool-size=16M >/dev/null
  fi
  if [ -n "${MARIADB_ROOT_PASSWORD:-}" ]; then
    {
      for host in localhost 127.0.0.1 ::1; do
        echo "ALTER USER IF EXISTS 'root'@'$host' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';"
      done
      echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';"
      echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    } >> "$INIT"
  fi
  if [ -n "${MARIADB_DATABASE:-}" ]; then
    echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\`;" >> "$INIT"
    if [ -n "${MARIADB_USER:-}" ]; then
      for host in localhost %; do
        echo "CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'$host' IDENTIFIED BY '${MARIADB_PASSWORD:-}';" >> "$INIT"
        echo "GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'$host';" >> "$INIT"
      done
    fi
    for f in /docker-entrypoint-initdb.d/*.sql; do
      [ -e "$f" ] || continue
      echo "USE \`${MARIADB_DATABASE}\`;" >> "$INIT"
      cat "$f" >> "$INIT"
    done
  fi
fi
# The server runs as the package's mysql account, not root: INTO OUTFILE and LOAD_FILE are confined to an
# empty directory besides.
chown -R mysql:mysql "$DATADIR" /run/mysqld
chmod 0600 "$INIT"
mkdir -p /run/mysqld/files && chown mysql:mysql /run/mysqld/files
exec mariadbd --no-defaults --datadir="$DATADIR" --user=mysql --secure-file-priv=/run/mysqld/files --port="$PORT" --bind-address="$BIND" \
  --socket=/run/mysqld/mysqld.sock --skip-name-resolve --innodb-buffer-pool-size=16M \
  --innodb-log-file-size=4M --skip-log-bin --performance-schema=OFF --default-time-zone=+08:00 \
  --init-file="$INIT"
