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
Every other response passes unchanged.
"""

from nova.api.openstack import wsgi as nova_wsgi
import webob.dec
import webob.exc

DEFAULT_MESSAGE = 'The request you have made requires authentication.'


def _message(response):
    """authtoken's message, or the default when its body says none."""
    try:
        error = response.json.get('error') or {}
        message = error.get('message')
    except (ValueError, AttributeError, TypeError):
        message = None
    return message if isinstance(message, str) and message else (
        DEFAULT_MESSAGE)


class UnauthorizedFault:
    """WSGI middleware: a 401 from below becomes nova's fault body."""

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify(RequestClass=nova_wsgi.Request)
    def __call__(self, req):
        response = req.get_response(self.application)
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
