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

"""The one place the unit tests touch nova's private test helpers."""

from unittest import mock

import fixtures
import nova.conf
from nova import objects
from nova.tests.unit.scheduler import fakes
from oslo_config import fixture as config_fixture
from oslo_utils.fixture import uuidsentinel as uuids
from oslotest import base as oslotest_base

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import base
from nova_livemig_ext import usage

CONF = nova.conf.CONF
livemig_conf.register_opts(CONF)


class TestCase(oslotest_base.BaseTestCase):
    """A test case with nova's CONF under a fixture."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))

    def flags(self, group='livemig_ext', **kw):
        self.conf.config(group=group, **kw)


def aggregate(name, **metadata):
    return objects.Aggregate(name=name, metadata=metadata, hosts=[])


AZ1 = aggregate('az1', availability_zone='az1')
AZ2 = aggregate('az2', availability_zone='az2')
NFS_A = aggregate('nfs-a', livemig_domain='nfs-a')
NFS_B = aggregate('nfs-b', livemig_domain='nfs-b')


def host_state(host, aggregates=(), uuid=None):
    """A scheduler HostState (nova's FakeHostState)."""
    return fakes.FakeHostState(host, host, {
        'uuid': uuid or getattr(uuids, host),
        'aggregates': list(aggregates)})


def request_spec(ignore_hosts=('src',), cell=True, memory_mb=2048,
                 vcpus=2, root_gb=10, ephemeral_gb=0, swap=0,
                 is_bfv=False, hints=None):
    """A RequestSpec as the conductor sends it for a move."""
    spec = objects.RequestSpec(
        instance_uuid=uuids.server,
        flavor=objects.Flavor(vcpus=vcpus, memory_mb=memory_mb,
                              root_gb=root_gb, ephemeral_gb=ephemeral_gb,
                              swap=swap, extra_specs={}),
        is_bfv=is_bfv,
        scheduler_hints=hints or {},
        image=objects.ImageMeta(properties=objects.ImageMetaProps()))
    if ignore_hosts is not None:
        spec.ignore_hosts = list(ignore_hosts)
    if cell:
        spec.requested_destination = objects.Destination(
            cell=objects.CellMapping(uuid=uuids.cell1, name='cell1'))
    return spec


def migration(kind='live-migration', source='src'):
    return objects.Migration(migration_type=kind, source_compute=source,
                             status='accepted')


def resources(vcpu=(40, 0), memory=(7680, 0), disk=(1028, 0)):
    """Placement's summary of one provider: {rc: Resource(capacity, used)}."""
    return {base.VCPU: base.Resource(*vcpu),
            base.MEMORY_MB: base.Resource(*memory),
            base.DISK_GB: base.Resource(*disk)}


class ReadModelFixture:
    """Patches the read model (nova's databases and placement).

    The unit tests of the adapters replace the three reads with plain data;
    the functional tests run them for real.
    """

    def __init__(self, test, migration=None, source_aggregates=(),
                 provider_resources=None):
        self.accepted_migration = _patch(
            test, 'accepted_migration', return_value=migration)
        self.host_aggregates = _patch(
            test, 'host_aggregates', return_value=list(source_aggregates))
        self.provider_resources = _patch(
            test, 'provider_resources',
            return_value=provider_resources or {})


def _patch(test, name, **kw):
    return test.useFixture(
        fixtures.MockPatchObject(usage, name, **kw)).mock


__all__ = ['fixtures', 'mock', 'uuids']
