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

"""Plain data the constraints decide on, and the constraint interface.

Nothing here imports nova or does I/O: the scheduler filter, the weigher
and the API translate nova's objects into these views, so that every door
of the product asks the same question and gets the same answer.
"""

import abc
import dataclasses
import functools
import typing

VCPU = 'VCPU'
PCPU = 'PCPU'
MEMORY_MB = 'MEMORY_MB'
DISK_GB = 'DISK_GB'

# The resource classes that carry a headroom cap, in reporting order: those
# of a compute node's own provider. Others (PCI devices and vGPUs on nested
# providers, custom classes) are placement's to fit: the plugin neither
# caps nor reads them.
CAPPED_RESOURCE_CLASSES = (VCPU, PCPU, MEMORY_MB, DISK_GB)


def capped(demand):
    """((resource class, amount), ...) of the capped classes in ``demand``."""
    return tuple((rc, demand[rc]) for rc in CAPPED_RESOURCE_CLASSES
                 if demand.get(rc, 0) > 0)


class Resource(typing.NamedTuple):
    """Placement's view of one resource class of a host.

    :param capacity: ``(total - reserved) x allocation_ratio``.
    :param used: what placement has allocated, including claims held for
        moves in flight.
    """

    capacity: float
    used: float

    @property
    def free(self):
        return self.capacity - self.used


@dataclasses.dataclass(slots=True)
class HostView:
    """What the constraints know about a host (treat it as read-only).

    A plain slotted class rather than a frozen one: the scheduler builds
    one per candidate host and request, and frozen dataclasses are several
    times slower to build.

    :param name: the compute service host name.
    :param availability_zone: the host's availability zone.
    :param domains: the migration domains the host belongs to.
    :param resources: resource class name -> :class:`Resource`; None when
        usage was not read (no constraint asked for it).
    :param max_utilization: resource class name -> the cap that applies
        to this host (the option, or the lowest aggregate override).
    :param demand: resource class name -> what nova would allocate on this
        host's compute node provider for the move, when it is known per
        host (nova's allocation candidate for the host, which reflects its
        PCPU to VCPU fallback); None: the move's demand.
    """

    name: str
    availability_zone: str | None = None
    domains: frozenset = frozenset()
    resources: dict | None = None
    max_utilization: dict = dataclasses.field(default_factory=dict)
    demand: dict | None = None


@dataclasses.dataclass(frozen=True)
class Move:
    """A server moving from ``source`` to some destination.

    :param server_id: the server's UUID.
    :param kind: ``live-migration`` or ``evacuation``.
    :param source: :class:`HostView` of the source host (resources unused).
    :param demand: resource class name -> the amount placement allocates
        for the server on a destination.
    :param local_disk: whether the server has a disk on the host's
        instances directory (root, ephemeral or swap), which binds it to
        the source's migration domain.
    """

    server_id: str
    kind: str
    source: HostView
    demand: dict
    local_disk: bool = True

    @functools.cached_property
    def capped_demand(self):
        """((resource class, amount), ...) of the capped classes it needs.

        Worked out once per move: constraints and the weigher ask for it
        for every candidate host.
        """
        return capped(self.demand)

    def capped_demand_on(self, host):
        """The capped demand of the move on ``host`` (see HostView.demand)."""
        if host.demand is None:
            return self.capped_demand
        return capped(host.demand)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The ``[livemig_ext]`` options as plain values."""

    max_utilization: dict = dataclasses.field(default_factory=lambda: {
        VCPU: 0.9, PCPU: 1.0, MEMORY_MB: 0.9, DISK_GB: 0.9})
    same_availability_zone: bool = True
    migration_domain_mode: str = 'required'
    weigher_strategy: str = 'spread'


@dataclasses.dataclass(frozen=True)
class Rejection:
    """Why a constraint refuses a host, with the numbers behind it.

    :param constraint: the name of the constraint.
    :param host: the host refused.
    :param reason: a sentence an operator can read.
    :param details: the numbers or names behind the reason.
    """

    constraint: str
    host: str
    reason: str
    details: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        return '%s: %s' % (self.constraint, self.reason)


class Constraint(metaclass=abc.ABCMeta):
    """A rule that says whether a server may move to a host.

    Constraints are stevedore plugins of the namespace
    ``nova_livemig_ext.constraints``, instantiated once per process with
    the :class:`Settings`. They must be pure: no I/O, no state kept between
    calls, since one instance judges concurrent requests.
    """

    #: The plugin name, used in rejections and logs.
    name = None

    #: Whether the constraint reads ``HostView.resources``; the adapters
    #: only read usage from placement when some constraint needs it.
    needs_usage = False

    def __init__(self, settings):
        self.settings = settings

    @abc.abstractmethod
    def check(self, move, host):
        """Judge one destination.

        :param move: the :class:`Move`.
        :param host: the candidate destination, a :class:`HostView`.
        :returns: None when the host is acceptable, else a
            :class:`Rejection`.
        """
