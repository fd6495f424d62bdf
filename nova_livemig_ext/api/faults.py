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

"""Give keystonemiddleware's refusals nova's JSON fault body.

keystonemiddleware's authtoken answers a request without a valid token
itself, with a body of its own (``{"error": {...}}``). This filter sits
just before authtoken in the extension's pipeline and rewrites such a 401
into nova's fault body (``{"unauthorized": {"code": 401, "message":
...}}``), keeping authtoken's message and its ``WWW-Authenticate`` header.

authtoken also answers 503 itself, with webob's HTML or JSON page, when
keystone cannot validate the token (keystone's database is down, say):
that becomes nova's ``serviceUnavailable`` fault. A 503 of the extension,
already nova's fault body, and every other response pass unchanged.
"""

from nova.api.openstack import wsgi as nova_wsgi
import webob.dec
import webob.exc

DEFAULT_MESSAGE = 'The request you have made requires authentication.'
KEYSTONE_UNAVAILABLE = ('The Keystone service is temporarily unavailable: '
                        'the token could not be validated; try again '
                        'later.')


def _message(response):
    """authtoken's message, or the default when its body says none."""
    try:
        error = response.json.get('error') or {}
        message = error.get('message')
    except (ValueError, AttributeError, TypeError):
        message = None
    return message if isinstance(message, str) and message else (
        DEFAULT_MESSAGE)


def _is_nova_fault(response):
    """True for nova's fault body: one key, its code and its message."""
    try:
        body = response.json
    except (ValueError, AttributeError, TypeError):
        return False
    if not isinstance(body, dict) or len(body) != 1:
        return False
    (fault,) = body.values()
    return isinstance(fault, dict) and {'code', 'message'} <= set(fault)


class UnauthorizedFault:
    """WSGI middleware: a 401 from below becomes nova's fault body."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify(RequestClass=nova_wsgi.Request)
    def __call__(self, req):
        response = req.get_response(self.application)
        if response.status_int == 503 and not _is_nova_fault(response):
            return nova_wsgi.Fault(webob.exc.HTTPServiceUnavailable(
                explanation=KEYSTONE_UNAVAILABLE))
        if response.status_int != 401:
            return response
        fault = webob.exc.HTTPUnauthorized(explanation=_message(response))
        challenge = response.headers.get('WWW-Authenticate')
        if challenge:
            fault.headers['WWW-Authenticate'] = challenge
        return nova_wsgi.Fault(fault)


def filter_factory(global_conf, **local_conf):
    """paste.filter_factory ``livemig_faults``."""
    return UnauthorizedFault
