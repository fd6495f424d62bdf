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

"""Configuration options of nova-livemig-ext, group ``[livemig_ext]``.

The options are registered on nova's ``nova.conf.CONF`` when nova loads the
scheduler filter or weigher, and are listed for oslo-config-generator
through the ``oslo.config.opts`` entry point (:func:`list_opts`).
"""

import dataclasses

from oslo_config import cfg
from oslo_config import types

from nova_livemig_ext import constraints
from nova_livemig_ext.constraints import base

GROUP_NAME = 'livemig_ext'

# The moves the filter can judge; see ``apply_to``.
LIVE_MIGRATION = 'live-migration'
EVACUATION = 'evacuation'

REQUIRED = 'required'
PREFERRED = 'preferred'

SPREAD = 'spread'
PACK = 'pack'

DEFAULT_CONSTRAINTS = ['vacant_resources', 'availability_zone',
                       'migration_domain']


class Fraction(types.Float):
    """A float in the half-open interval (0, 1]."""

    def __init__(self, type_name='fraction value, 0 < x <= 1'):
        super().__init__(max=1.0, type_name=type_name)

    def __call__(self, value):
        value = super().__call__(value)
        if value <= 0.0:
            raise ValueError('must be greater than 0 and at most 1, '
                             'got %s' % value)
        return value


def _utilization_opt(name, resource, aggregate_key, default=0.9,
                     extra=''):
    return cfg.Opt(
        name,
        type=Fraction(),
        default=default,
        help="""
Fraction of a destination host's %(resource)s capacity that may be in use
after a live migration lands there.

Capacity is placement's ``(total - reserved) x allocation_ratio`` of the
host's compute node resource provider. A host is rejected when
``used + requested > max_utilization x capacity`` for the moving server.
This keeps headroom on destination hosts, so that a maintenance drain does
not fill the remaining hosts to the brim.

Possible values: a number greater than 0 and at most 1 (1 keeps no
headroom and accepts whatever placement accepts).

This aggregate metadata key overrides the option for the hosts of the
aggregate (for a host in several such aggregates the lowest value wins):

    %(agg)s
%(extra)s""" % {'resource': resource, 'agg': aggregate_key, 'extra': extra})


livemig_opts = [
    cfg.ListOpt(
        'constraints',
        default=DEFAULT_CONSTRAINTS,
        help="""
Constraints that decide whether a server may move to a host.

Each name is a plugin of the stevedore namespace
``nova_livemig_ext.constraints``. The built-in constraints are:

* ``vacant_resources``: the destination keeps headroom after the move (see
  ``vcpu_max_utilization``, ``pcpu_max_utilization``,
  ``ram_max_utilization`` and ``disk_max_utilization``);
* ``availability_zone``: the destination is in the source host's
  availability zone (see ``same_availability_zone``);
* ``migration_domain``: the destination shares a migration domain with the
  source host (see ``migration_domain_key`` and ``migration_domain_mode``).

Another package can add constraints by registering entry points in that
namespace. An unknown name stops nova-scheduler at start.
"""),
    _utilization_opt('vcpu_max_utilization', 'VCPU',
                     'livemig_vcpu_max_utilization'),
    _utilization_opt('pcpu_max_utilization', 'PCPU',
                     'livemig_pcpu_max_utilization', default=1.0, extra="""
PCPU is what placement allocates for servers with dedicated CPUs
(``hw:cpu_policy=dedicated``) on hosts that report their pinned cores
(``[compute] cpu_dedicated_set``). Dedicated cores are never shared, so
filling them costs the other servers of the host nothing: the default of 1
keeps no headroom. Set it lower to keep pinned cores free for incoming
moves. On hosts that report their cores as VCPU only, nova places pinned
servers as VCPU (its fallback query) and ``vcpu_max_utilization`` applies.
"""),
    _utilization_opt('ram_max_utilization', 'MEMORY_MB',
                     'livemig_ram_max_utilization'),
    _utilization_opt('disk_max_utilization', 'DISK_GB',
                     'livemig_disk_max_utilization'),
    cfg.BoolOpt(
        'same_availability_zone',
        default=True,
        help="""
Keep moved servers in the availability zone of their source host.

Nova keeps a server in its availability zone only when the server was booted
with one. A server booted without an availability zone can be live-migrated
into any zone. When this is true, the ``availability_zone`` constraint keeps
every judged move inside the source host's zone. A host that is in no
aggregate with an ``availability_zone`` is in nova's
``[DEFAULT] default_availability_zone``.
"""),
    cfg.StrOpt(
        'migration_domain_key',
        default='livemig_domain',
        help="""
Host aggregate metadata key that names a host's migration domain.

A migration domain is a group of hosts that can live-migrate between each
other without copying disks, typically the hosts that mount the same shared
storage for their instances directory (an NFS or GlusterFS export, a Ceph
pool). Put the hosts of each domain in an aggregate and set this key, for
example ``openstack aggregate set --property livemig_domain=nfs-a agg-a``.
A host in several such aggregates belongs to every domain named. Servers
move only between hosts that share a domain; hosts without a domain move
only to hosts without one. Volume-backed servers without local disk (no
ephemeral or swap disk) are not bound to a domain.
"""),
    cfg.StrOpt(
        'migration_domain_mode',
        default=REQUIRED,
        choices=[
            (REQUIRED, 'The migration_domain constraint rejects hosts of '
                       'other domains.'),
            (PREFERRED, 'Hosts of other domains stay possible (by block '
                        'migration); VacantResourceWeigher ranks hosts of '
                        'the source domain first.'),
        ],
        help="""
How the migration domain is enforced.
"""),
    cfg.ListOpt(
        'apply_to',
        item_type=types.String(choices=[LIVE_MIGRATION, EVACUATION]),
        default=[LIVE_MIGRATION],
        help="""
Which moves LiveMigrationDestinationFilter and VacantResourceWeigher judge.

``live-migration`` judges live migrations that go through the scheduler.
``evacuation`` also judges evacuations of servers from a failed host, where
the availability zone and the migration domain matter just as much. Every
other request (boot, resize, cold migration, unshelve, rebuild) passes
untouched.

Forced live migrations (a host given with microversion < 2.30, or
``force: true`` with 2.30 to 2.67) and forced evacuations bypass the
scheduler and therefore every filter, this one too.
"""),
    cfg.StrOpt(
        'weigher_strategy',
        default=SPREAD,
        choices=[
            (SPREAD, 'Most headroom after the move first: spreads load, '
                     'for maintenance drains.'),
            (PACK, 'Least headroom that still fits first: fills hosts, '
                   'for consolidation and power saving.'),
        ],
        help="""
How VacantResourceWeigher ranks live-migration destinations.

Headroom is, over the resource classes the server needs, the smallest
``(max_utilization x capacity - used - requested) / capacity``.
"""),
    cfg.IntOpt(
        'inventory_cache_seconds',
        default=300,
        min=0,
        help="""
How long nova-api keeps the placement inventories (total, reserved,
allocation ratio) of compute hosts for the os-livemig API, in seconds.

Inventories change when a compute host is added, resized or reconfigured.
After this time an inventory is still served while a background thread
reads it again, so a value is at most this old plus one refresh. Usage is
never cached. 0 reads the inventories on every request (one placement
request per host listed).
"""),
    cfg.BoolOpt(
        'inventory_cache_prime',
        default=True,
        help="""
Read the placement inventory of every compute host in the background when
nova-api loads the os-livemig API, so that the first host listing of a
nova-api process does not wait for them.

Each nova-api process reads them once at start (one placement request per
compute host, 8 at a time), then refreshes an inventory only when one older
than ``inventory_cache_seconds`` is served. Without it, the first listing
of each process reads every inventory it lists before it answers. Not used
when ``inventory_cache_seconds`` is 0.
"""),
    cfg.FloatOpt(
        'placement_read_timeout',
        default=30.0,
        min=0,
        help="""
Seconds each placement read of the plugin (the scheduler filter's and
weigher's usage read, and every os-livemig API read) may wait for an
answer when nova's ``[placement] timeout`` is unset.

nova leaves ``[placement] timeout`` unset by default, and keystoneauth
then waits as long as the TCP connection lives: a placement that accepts
connections but never answers would hold a live migration's scheduling
or an API request without end. When ``[placement] timeout`` is set, it
bounds the plugin's reads and this option is not used. A read that times
out is not retried: the migration gets no destination, the API answers
503. 0 leaves the plugin's reads unbounded, as nova's own are.
"""),
    cfg.FloatOpt(
        'max_measured_cpu',
        default=0.8,
        min=0.05,
        max=1.0,
        help="""
The largest share of a compute host's physical CPUs that the balance and
consolidation plans may load it to, by measured CPU.

It applies where nova's compute monitors publish ``cpu.percent`` in the
compute node's metrics (``[DEFAULT] compute_monitors = cpu.virt_driver``
on nova-compute): a plan moves a server onto a host only if the host's
measured busy cores plus the server's estimated share stay within this
share of its cores. A server's share is its host's busy cores split over
the host's servers in proportion to their vCPUs. Hosts without a fresh
measurement are planned by their allocations only.
"""),
    cfg.IntOpt(
        'cpu_metrics_max_age',
        default=600,
        min=1,
        help="""
Seconds after which a compute host's ``cpu.percent`` measurement is too
old for the balance and consolidation plans.

nova-compute refreshes its metrics with the resource tracker, every
``[DEFAULT] update_resources_interval`` seconds (60 by default). A host
whose last measurement is older than this is reported as unmeasured: the
CPU balance leaves it out, consolidation plans it by its allocations.
"""),
    cfg.FloatOpt(
        'weigher_multiplier',
        default=10.0,
        help="""
Multiplier of VacantResourceWeigher, as nova's weigher multipliers.

The default of 10 lets the strategy decide over nova's own weighers, whose
multipliers default to 1 and whose normalised weights are between 0 and 1.
Nova's BuildFailureWeigher and CrossCellWeigher still dominate. A host
aggregate can override it with the metadata key
``livemig_weigher_multiplier``. Requests other than judged moves get a
weight of 0.
"""),
]


def register_opts(conf):
    """Register the ``[livemig_ext]`` options on ``conf``."""
    conf.register_group(cfg.OptGroup(
        GROUP_NAME, title='nova-livemig-ext options',
        help='Options of the nova-livemig-ext scheduler filter, weigher '
             'and API.'))
    conf.register_opts(livemig_opts, group=GROUP_NAME)


def list_opts():
    """The options for oslo-config-generator."""
    return [(GROUP_NAME, livemig_opts)]


class InvalidOption(ValueError):
    """An option of ``[livemig_ext]`` has a value the plugin cannot use."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Validated, immutable options plus the loaded constraint engine.

    Built once when nova loads the filter or weigher; shared by every
    request since nothing in it changes.
    """

    settings: base.Settings
    engine: constraints.Engine
    apply_to: frozenset
    migration_domain_key: str
    weigher_multiplier: float
    default_availability_zone: str


def _read(group, name):
    try:
        return getattr(group, name)
    except (cfg.ConfigFileValueError, ValueError) as exc:
        raise InvalidOption(
            '[%s] %s: %s' % (GROUP_NAME, name, exc)) from exc


def load(conf):
    """Validate ``[livemig_ext]`` and load the constraints.

    Called when nova-scheduler loads the filter and weigher, so that a bad
    value stops the service at start instead of failing the first
    migration.

    :param conf: a ConfigOpts with the group registered (nova's CONF).
    :raises InvalidOption: naming the option and what is wrong with it.
    """
    group = conf[GROUP_NAME]
    values = {opt.dest: _read(group, opt.dest) for opt in livemig_opts}
    if not values['apply_to']:
        raise InvalidOption('[%s] apply_to: name at least one of %s, %s'
                            % (GROUP_NAME, LIVE_MIGRATION, EVACUATION))
    if not values['migration_domain_key'].strip():
        raise InvalidOption('[%s] migration_domain_key: must not be empty'
                            % GROUP_NAME)
    settings = base.Settings(
        max_utilization={
            base.VCPU: values['vcpu_max_utilization'],
            base.PCPU: values['pcpu_max_utilization'],
            base.MEMORY_MB: values['ram_max_utilization'],
            base.DISK_GB: values['disk_max_utilization'],
        },
        same_availability_zone=values['same_availability_zone'],
        migration_domain_mode=values['migration_domain_mode'],
        weigher_strategy=values['weigher_strategy'])
    try:
        engine = constraints.load(
            values['constraints'], settings,
            option='[%s] constraints' % GROUP_NAME)
    except constraints.ConstraintLoadError as exc:
        raise InvalidOption(str(exc)) from exc
    return Config(
        settings=settings,
        engine=engine,
        apply_to=frozenset(values['apply_to']),
        migration_domain_key=values['migration_domain_key'].strip(),
        weigher_multiplier=values['weigher_multiplier'],
        default_availability_zone=conf.default_availability_zone)
