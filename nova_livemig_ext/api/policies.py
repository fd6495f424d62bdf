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

"""Policy rules of the API extension, registered in nova's enforcer.

The rules default to nova's admin check and are registered in nova's own
policy enforcer, so operators override them in nova's ``policy.yaml``.
``list_rules`` feeds ``oslopolicy-sample-generator`` through the
``oslo.policy.policies`` entry point (namespace ``nova_livemig_ext``).
"""

from nova import policy as nova_policy
from oslo_policy import policy

# nova's check string for admin-only APIs (nova.policies.base.ADMIN).
ADMIN = 'rule:context_is_admin'

HOSTS_LIST = 'livemig_ext:hosts:list'
HOSTS_SHOW = 'livemig_ext:hosts:show'
HOSTS_SERVERS = 'livemig_ext:hosts:servers'
SERVERS_DESTINATIONS = 'livemig_ext:servers:destinations'
HOSTS_DRAIN_PLAN = 'livemig_ext:hosts:drain_plan'
PLANS_CONSOLIDATION = 'livemig_ext:plans:consolidation'
PLANS_BALANCE = 'livemig_ext:plans:balance'

BASE_PATH = '/os-livemig'

rules = [
    policy.DocumentedRuleDefault(
        name=HOSTS_LIST,
        check_str=ADMIN,
        description='List compute hosts with their capacity, usage and free '
                    'resources, zone, aggregates, migration domains and '
                    'service state.',
        operations=[{'method': 'GET', 'path': BASE_PATH + '/hosts'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=HOSTS_SHOW,
        check_str=ADMIN,
        description='Show one compute host with its usage per project and '
                    'its migrations in progress.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/hosts/{host}'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=HOSTS_SERVERS,
        check_str=ADMIN,
        description='List the servers on a compute host, of every project.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/hosts/{host}/servers'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=SERVERS_DESTINATIONS,
        check_str=ADMIN,
        description='Explain where a server may be live-migrated: every '
                    'compute host of its cell, eligible or not, with the '
                    'rank nova\'s scheduler would give it or the rules '
                    'that refuse it.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/servers/{server_id}/'
                                         'destinations'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=HOSTS_DRAIN_PLAN,
        check_str=ADMIN,
        description='Plan the drain of a compute host: a destination for '
                    'every server on it, judged as nova\'s scheduler '
                    'would, or the reasons it has none.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/hosts/{host}/drain-plan'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PLANS_CONSOLIDATION,
        check_str=ADMIN,
        description='Plan the consolidation of an availability zone, a host '
                    'aggregate or the cloud: live migrations, each one '
                    'nova\'s scheduler accepts, that empty as many hosts as '
                    'the rules allow.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/consolidation-plan'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=PLANS_BALANCE,
        check_str=ADMIN,
        description='Plan the balancing of an availability zone, a host '
                    'aggregate or the cloud: live migrations, each one '
                    'nova\'s scheduler accepts, that relieve the busiest '
                    'hosts by allocations or by measured CPU.',
        operations=[{'method': 'GET',
                     'path': BASE_PATH + '/balance-plan'}],
        scope_types=['project']),
]


def list_rules():
    return rules


def _enforcer():
    """nova's enforcer, with these rules registered (idempotent).

    nova registers only its own rules, and its tests reset the enforcer,
    so registration happens lazily on the enforcer in use.
    """
    nova_policy.init()
    # NOTE: nova has no public accessor that does not re-parse the
    # configuration (get_enforcer does), hence the module attribute.
    enforcer = nova_policy._ENFORCER
    missing = [rule for rule in rules
               if rule.name not in enforcer.registered_rules]
    if missing:
        enforcer.register_defaults(missing)
    return enforcer


def authorize(context, rule):
    """Raise nova's PolicyNotAuthorized unless ``context`` may use ``rule``.

    The target is the caller's own project: these are global admin views,
    so the default admin check string decides.
    """
    _enforcer()
    nova_policy.authorize(context, rule,
                          target={'project_id': context.project_id})
