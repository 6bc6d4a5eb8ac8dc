"""Multi-row INSERT ... ON CONFLICT for the hot write paths, without model instances.

`bulk_create` builds a model instance and runs every field's preparation per row, which costs about
ten times the SQL for the 10,000-sample batches. PostgreSQL gets one statement per 50,000 rows over
`unnest` of typed arrays (a plain insert without ON CONFLICT is a COPY); SQLite, which has no arrays,
multi-row VALUES within its 999 parameters. Both support `ON CONFLICT ... DO UPDATE` and `RETURNING`.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, models

from common.rows import chunks

SQLITE_MAX_PARAMS = 999
POSTGRES_ROWS_PER_STATEMENT = 50_000


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
    conflict: Sequence[str] | None = None,
    update: str | None = None,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERT `rows` (tuples in `columns` order) into `model`'s table; returns the `returning` columns.

    With `conflict` (the unique columns), a clash runs `update` (SQL using `excluded.<column>` and the
    quoted table name), or is skipped when `update` is None. Column names are db column names.
    """
    if not rows:
        return []
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    fields = {field.column: field for field in model._meta.concrete_fields}
    tail = ""
    if conflict:
        target = ", ".join(qn(column) for column in conflict)
        tail = f" ON CONFLICT ({target}) " + (f"DO UPDATE SET {update}" if update else "DO NOTHING")
    if returning:
        tail += " RETURNING " + ", ".join(qn(column) for column in returning)
    head = f"INSERT INTO {table} ({', '.join(qn(column) for column in columns)}) "
    result = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not conflict and not returning:
            # A plain insert: COPY, whose rows psycopg formats in C (the typed arrays below are
            # dumped value by value in Python, which cost more than the statement for the rollups).
            with cursor.cursor.copy(f"COPY {table} ({', '.join(qn(column) for column in columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return result
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{fields[column].db_type(connection)}[]" for column in columns)
            for chunk in chunks(rows, POSTGRES_ROWS_PER_STATEMENT):
                cursor.execute(
                    f"{head}SELECT * FROM unnest({arrays}){tail}", [list(values) for values in zip(*chunk, strict=True)]
                )
                if returning:
                    result.extend(cursor.fetchall())
            return result
        adapt = connection.ops.adapt_datetimefield_value
        dated = [isinstance(fields[column], models.DateTimeField) for column in columns]
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for chunk in chunks(rows, SQLITE_MAX_PARAMS // len(columns)):
            params = [
                adapt(value) if is_date else value for row in chunk for value, is_date in zip(row, dated, strict=True)
            ]
            cursor.execute(f"{head}VALUES {', '.join([placeholder] * len(chunk))}{tail}", params)
            if returning:
                result.extend(cursor.fetchall())
    return result


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of ints, e.g. '{1,2,3}', to pass as one parameter cast to `int8[]`.

    psycopg dumps a list element by element in Python; for thousands of ints one join is far cheaper.
    """
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def delete_in(model: type[models.Model], column: str, values: Sequence) -> None:
    """DELETE rows whose `column` is in `values`, without `QuerySet.delete()` loading them to send signals."""
    qn = connection.ops.quote_name
    sql = f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(column)}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            field_type = next(f for f in model._meta.concrete_fields if f.column == column).db_type(connection)
            for chunk in chunks(values, POSTGRES_ROWS_PER_STATEMENT):
                cursor.execute(f"{sql} = ANY(%s::{field_type}[])", [list(chunk)])
            return
        for chunk in chunks(values, SQLITE_MAX_PARAMS):
            cursor.execute(f"{sql} IN ({', '.join(['%s'] * len(chunk))})", list(chunk))
