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

"""The WSGI application of the API extension and its routing table.

nova-api serves it: the operator mounts it in nova's api-paste.ini at
``/v2.1/os-livemig`` behind nova's own middleware (request id, fault
wrapping, request log, size limit, keystone authtoken and context), with
``use = egg:nova-livemig-ext#livemig``. See ``etc/api-paste.ini``.

A dependency that fails (placement, the API database, a cell's database)
is a 503 ``serviceUnavailable`` with nova's fault body naming it, never a
500, whichever handler's read meets it.
"""

import re

from nova.api.openstack import wsgi as nova_wsgi
import nova.conf
from nova import exception
from oslo_log import log as logging
from oslo_serialization import jsonutils
import webob
import webob.dec
import webob.exc

from nova_livemig_ext.api import hosts
from nova_livemig_ext.api import plans
from nova_livemig_ext.api import servers
from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.usage import hosts as host_usage
from nova_livemig_ext.usage import placement

LOG = logging.getLogger(__name__)

# URL template (below the mount point) -> {method: handler}. A handler
# takes (request, context, **url_parameters) and returns a JSON body.
ROUTES = {
    '/hosts': {'GET': hosts.list_hosts},
    '/hosts/{host}': {'GET': hosts.show_host},
    '/hosts/{host}/servers': {'GET': hosts.list_servers},
    '/hosts/{host}/drain-plan': {'GET': hosts.drain_plan},
    '/servers/{server_id}/destinations': {'GET': servers.destinations},
    '/consolidation-plan': {'GET': plans.consolidation_plan},
    '/balance-plan': {'GET': plans.balance_plan},
}


def _compile(template):
    pattern = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', template)
    return re.compile('^%s$' % pattern)


_ROUTES = [(_compile(template), methods)
           for template, methods in ROUTES.items()]


def _fault(exc):
    return nova_wsgi.Fault(exc)


def _unavailable(path, exc, cause):
    """503 with nova's fault body; the whole error goes to the log."""
    LOG.warning('os-livemig %(path)s: %(exc)s: %(cause)s',
                {'path': path, 'exc': exc, 'cause': cause})
    return _fault(webob.exc.HTTPServiceUnavailable(explanation=str(exc)))


def _route(path):
    """(methods, URL parameters) of the route matching ``path``, or None."""
    for pattern, methods in _ROUTES:
        match = pattern.match(path)
        if match:
            return methods, match.groupdict()
    return None


class Application:
    """Dispatch by path and method; turn every refusal into nova's fault."""

    @webob.dec.wsgify(RequestClass=nova_wsgi.Request)
    def __call__(self, req):
        try:
            path = req.path_info
        except UnicodeDecodeError:
            return _fault(webob.exc.HTTPBadRequest(
                explanation='The path is not valid UTF-8.'))
        route = _route(path)
        if route is None:
            return _fault(webob.exc.HTTPNotFound(
                explanation='Unknown path %s under /os-livemig.' % path))
        methods, url_params = route
        handler = methods.get(req.method)
        if handler is None:
            exc = webob.exc.HTTPMethodNotAllowed(
                explanation='Method %s is not allowed on %s; allowed: %s.'
                            % (req.method, path,
                               ', '.join(sorted(methods))))
            exc.headers['Allow'] = ', '.join(sorted(methods))
            return _fault(exc)
        context = req.environ.get('nova.context')
        if context is None:
            return _fault(webob.exc.HTTPUnauthorized(
                explanation='The request carries no authenticated context.'))
        try:
            body = handler(req, context, **url_params)
        except webob.exc.HTTPException as exc:
            return _fault(exc)
        except exception.Forbidden as exc:
            return _fault(webob.exc.HTTPForbidden(
                explanation=exc.format_message()))
        except (placement.PlacementUnavailable,
                host_usage.DatabaseUnavailable) as exc:
            return _unavailable(path, exc, exc.__cause__ or exc)
        except host_usage.DB_ERRORS as exc:
            # NOTE: a read outside the usage layer's named transactions.
            return _unavailable(path, host_usage.DatabaseUnavailable(
                'a nova database', exc), exc)
        response = webob.Response(content_type='application/json',
                                  charset='utf-8')
        response.body = jsonutils.dump_as_bytes(body)
        return response


def app_factory(global_conf, **local_conf):
    """paste.app_factory ``livemig``.

    nova-api calls it once per process when it loads its paste pipeline;
    the inventories of the compute hosts are then read in the background
    (``[livemig_ext] inventory_cache_prime``).
    """
    conf = nova.conf.CONF
    livemig_conf.register_opts(conf)
    if (conf.livemig_ext.inventory_cache_seconds > 0 and
            conf.livemig_ext.inventory_cache_prime):
        placement.INVENTORIES.prime(host_usage.compute_node_uuids)
    return Application()
