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

"""Handlers of /os-livemig/consolidation-plan and /balance-plan."""

import webob.exc

from nova_livemig_ext.api import params
from nova_livemig_ext.api import policies
from nova_livemig_ext import scope_plans

SCOPE = dict(availability_zone=params.TEXT, aggregate=params.TEXT,
             max_moves=params.MAX_MOVES)


def _not_found(exc):
    return webob.exc.HTTPNotFound(explanation=str(exc))


def consolidation_plan(req, context):
    """GET /consolidation-plan: empty as many hosts of a scope as allowed."""
    policies.authorize(context, policies.PLANS_CONSOLIDATION)
    query = params.parse(req, **SCOPE)
    try:
        plan = scope_plans.consolidation_plan(
            context, zone=query.get('availability_zone'),
            aggregate=query.get('aggregate'),
            max_moves=query.get('max_moves'))
    except scope_plans.ScopeNotFound as exc:
        raise _not_found(exc) from exc
    return {'consolidation_plan': plan}


def balance_plan(req, context):
    """GET /balance-plan: relieve the busiest hosts of a scope."""
    policies.authorize(context, policies.PLANS_BALANCE)
    query = params.parse(req, measure=params.choice(scope_plans.ALLOCATION,
                                                    scope_plans.CPU),
                         **SCOPE)
    try:
        plan = scope_plans.balance_plan(
            context, zone=query.get('availability_zone'),
            aggregate=query.get('aggregate'),
            max_moves=query.get('max_moves'),
            measure=query.get('measure', scope_plans.ALLOCATION))
    except scope_plans.ScopeNotFound as exc:
        raise _not_found(exc) from exc
    except scope_plans.NoMeasurement as exc:
        raise webob.exc.HTTPConflict(explanation=str(exc)) from exc
    return {'balance_plan': plan}
