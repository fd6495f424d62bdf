# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Query parameters: parse what a handler accepts, refuse the rest.

Every refusal is a 400 that names the parameter.
"""

import webob.exc

MAX_LIMIT = 1000
MAX_MOVES_LIMIT = 100000


def _integer(maximum):
    """A parser of an integer from 1 to ``maximum``."""
    def parse(name, value):
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not 1 <= number <= maximum:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid query parameter %s=%s: it must be an '
                            'integer from 1 to %d.' % (name, value, maximum))
        return number
    return parse


def _text(name, value):
    if not value:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid query parameter %s: it must not be '
                        'empty.' % name)
    return value


def choice(*values):
    """A parser accepting one of ``values``."""
    def parse(name, value):
        if value not in values:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid query parameter %s=%s: it must be one '
                            'of %s.' % (name, value, ', '.join(values)))
        return value
    return parse


LIMIT = _integer(MAX_LIMIT)
MAX_MOVES = _integer(MAX_MOVES_LIMIT)
TEXT = _text


def parse(req, **accepted):
    """The query parameters of ``req``, each parsed by its function.

    :param accepted: parameter name -> function(name, raw value).
    :raises webob.exc.HTTPBadRequest: for an unknown or repeated parameter
        or a value its function refuses.
    """
    values = {}
    try:
        query = req.GET
        names = list(query)
    except UnicodeDecodeError as exc:
        raise webob.exc.HTTPBadRequest(
            explanation='The query string is not valid UTF-8.') from exc
    for name in names:
        if name not in accepted:
            raise webob.exc.HTTPBadRequest(
                explanation='Unknown query parameter %s; accepted: %s.'
                            % (name, ', '.join(sorted(accepted)) or
                               'none'))
        raw = query.getall(name)
        if len(raw) > 1:
            raise webob.exc.HTTPBadRequest(
                explanation='Query parameter %s is given %d times; give it '
                            'once.' % (name, len(raw)))
        values[name] = accepted[name](name, raw[0])
    return values
