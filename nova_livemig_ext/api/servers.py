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

"""Handlers of /os-livemig/servers: policy, parameters, one call, a body."""

from oslo_utils import uuidutils
import webob.exc

from nova_livemig_ext.api import params
from nova_livemig_ext.api import policies
from nova_livemig_ext import evaluation
from nova_livemig_ext.usage import servers as server_usage


def _server_not_found(server_id):
    return webob.exc.HTTPNotFound(
        explanation='Server %s could not be found.' % server_id)


def destinations(req, context, server_id):
    """GET /servers/{server_id}/destinations: where it may live-migrate."""
    policies.authorize(context, policies.SERVERS_DESTINATIONS)
    query = params.parse(req, host=params.TEXT)
    if not uuidutils.is_uuid_like(server_id):
        raise _server_not_found(server_id)
    try:
        explanation = evaluation.explain(context, server_id,
                                         host=query.get('host'))
    except server_usage.ServerNotFound as exc:
        raise _server_not_found(server_id) from exc
    except evaluation.HostNotFound as exc:
        raise webob.exc.HTTPNotFound(
            explanation='Compute host %s could not be found among the '
                        'compute hosts of the server\'s cell.'
                        % query['host']) from exc
    except evaluation.CannotMove as exc:
        raise webob.exc.HTTPConflict(explanation=str(exc)) from exc
    return explanation.as_dict()
