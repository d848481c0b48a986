"""The study database's URL and its failures, said in one line: what is wrong and what to check, never a
SQLAlchemy traceback, never a password (the URL's is shown as ***). SQLAlchemy only: no Optuna here.
"""

from __future__ import annotations

import sqlalchemy.exc
from sqlalchemy.engine import make_url

from mnist_core.study.spec import StudyError


class StorageError(StudyError):
    """The study database cannot be used; the message says what to check (passwords hidden)."""

    def __init__(self, message: str):
        super().__init__("study database", message)


def hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return "the URL given" if "@" in url else url


def describe_error(url: str, error: BaseException) -> str:
    """One line saying what is wrong with the database and what to check."""
    shown = hide_password(url)
    causes = []
    while error is not None and len(causes) < 10:
        causes.append(error)
        error = error.__cause__ or error.__context__
    text = " ".join(str(getattr(c, "orig", None) or c) for c in causes).replace("\n", " ").replace("\t", " ")
    kinds = {type(c) for c in causes}
    if sqlalchemy.exc.ArgumentError in kinds and "parse" in text:
        why = "not a database URL: give postgresql+psycopg://USER@HOST:PORT/DATABASE or sqlite:///PATH"
    elif sqlalchemy.exc.NoSuchModuleError in kinds:
        why = "unknown kind of database: for PostgreSQL write postgresql+psycopg://USER@HOST:PORT/DATABASE"
    elif any(isinstance(c, ImportError) for c in causes):
        why = "no driver installed for this kind of database (PostgreSQL's, psycopg, is: postgresql+psycopg://...)"
    elif "role" in text and "does not exist" in text:
        why = "the server has no such user: check the user name in the URL (or $PGUSER)"
    elif "does not exist" in text and "database" in text:
        why = "the server has no such database: create it (e.g. `createdb NAME` on the server) or fix its name"
    elif "Connection refused" in text or "could not connect" in text or "timeout expired" in text:
        why = "no database server answers there: check that it is running and the host and port in the URL"
    elif "resolve host" in text or "Name or service not known" in text:
        why = "unknown host: check the host name in the URL"
    elif "authentication failed" in text or "no password supplied" in text or "pg_hba.conf" in text:
        why = "the server refused the user: check the user and password (in the URL or $PGPASSWORD)"
    elif "unable to open database file" in text:
        why = "cannot open the SQLite file: check that its folder exists and can be written"
    else:
        why = f"{type(causes[-1]).__name__}: {str(causes[-1]).splitlines()[0] if str(causes[-1]) else ''}"
    password = _password(url)
    if password:
        why = why.replace(password, "***")
    return f"{shown}: {why}"


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return None
