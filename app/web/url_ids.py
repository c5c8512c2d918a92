"""<int:...> in a route is a database id or position: a number no id column holds is simply
not found (a 404), rather than an error from the database (PostgreSQL's integer is 32 bits,
and it refuses to compare one with a larger number)."""

from werkzeug.routing import IntegerConverter

from app.models.base import ID_MAX


class DatabaseIntConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
