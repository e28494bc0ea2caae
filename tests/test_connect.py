"""`target_of`: what output shows of a URL is where libpq really connects, and never a secret."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from reconciler.database.connect import target_of


def _where_libpq_went(url: str) -> tuple[str, int, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.info.host, conn.info.port, conn.info.dbname


def test_the_target_is_where_the_connection_goes(database_url: str) -> None:
    target = target_of(database_url)
    assert (target.host, target.port, target.database) == _where_libpq_went(database_url)


def test_a_unix_socket_target_is_the_socket_directory(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        directories = str(conn.execute("SHOW unix_socket_directories").fetchone()[0])  # type: ignore[index]
        port = conn.info.port
    if not directories:
        pytest.skip("the test server listens on no Unix socket")
    directory = directories.split(",")[0].strip()
    params = {
        k: v for k, v in conninfo_to_dict(database_url).items() if k not in ("host", "hostaddr", "port")
    }
    socket_url = make_conninfo("", **{**params, "host": directory, "port": str(port)})
    target = target_of(socket_url)
    assert target.host == directory
    assert (target.host, target.port, target.database) == _where_libpq_went(socket_url)


def test_the_target_names_no_user_or_password_and_fills_libpq_defaults() -> None:
    target = target_of("postgresql://owner:pw-Secret-1@db.example.com/app?sslmode=require")
    assert target.as_json() == {"host": "db.example.com", "port": 5432, "database": "app"}
    assert "owner" not in str(target) and "pw-Secret-1" not in str(target)
    assert str(target) == "db.example.com:5432/app"
    assert target_of("host=a,b port=5432,5433 dbname=x").as_json() == {
        "host": "a,b",
        "port": "5432,5433",
        "database": "x",
    }
    assert target_of("dbname=app").host.startswith("/")  # no host: libpq's default socket directory
    with pytest.raises(ValueError) as caught:
        target_of("postgresql://owner:pw-Secret-1@db/app?no_such_option=1")
    assert "pw-Secret-1" not in str(caught.value)
