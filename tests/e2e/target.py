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

"""The cloud under test: the local cloud, or a devstack node.

By default the tests run against ``tools/minicloud`` (its four computes are
the four roles below). With ``OS_CLOUD`` set (the devstack gate job sets
``devstack-admin``) they run against that cloud: the first four compute
hosts by name take the roles, the tests put them into the zones and
migration domains below, read nova-scheduler's journal and stop a
nova-compute through systemd (``E2E_SCHEDULER_UNIT``,
``E2E_COMPUTE_UNIT``, devstack's unit names by default).
"""

import os
import secrets
import subprocess
import time

import openstack

from minicloud_lib import apps
from minicloud_lib import cloud
from minicloud_lib import configs
from minicloud_lib import services

MICROVERSION = configs.MICROVERSION
# Roles, as in the local cloud: compute1 and compute2 share az1 and nfs-a;
# compute3 (az1, ceph-b) and compute4 (az2, nfs-a) are each forbidden
# from them by one rule.
TOPOLOGY = {host.name: host for host in configs.HOSTS}
MEMBER = ('livemig-e2e-member', 'livemig-e2e')


def ensure_member(admin):
    """A user with only the member role, in a project of its own."""
    identity = admin.identity
    user_name, project_name = MEMBER
    domain = identity.find_domain('Default', ignore_missing=False)
    project = identity.find_project(project_name, domain_id=domain.id) or \
        identity.create_project(name=project_name, domain_id=domain.id)
    password = secrets.token_urlsafe(16)
    user = identity.find_user(user_name, domain_id=domain.id)
    if user is None:
        user = identity.create_user(name=user_name, password=password,
                                    domain_id=domain.id)
    else:
        identity.update_user(user, password=password)
    identity.assign_project_role_to_user(
        project, user, identity.find_role('member', ignore_missing=False))
    return user_name, project_name, password


class LocalCloud:
    """tools/minicloud, started by tox's e2e environment."""

    name = 'the local cloud'
    can_run_demo = True

    def missing(self):
        if all(services.pid_of(s) for s in services.services()):
            return None
        return 'the local cloud is not running: tools/minicloud up'

    def connect(self, user='admin', project='admin',
                password=configs.PASSWORD):
        return cloud.connect(user, project, password)

    def hosts(self, admin):
        return {role: role for role in TOPOLOGY}

    def ensure_topology(self, admin):
        """tools/minicloud up made the aggregates."""

    def image_id(self, admin):
        return apps.IMAGE_ID

    def log_mark(self, service='nova-scheduler'):
        return os.path.getsize(os.path.join(services.LOGS,
                                            service + '.log'))

    def log_since(self, mark, service='nova-scheduler'):
        with open(os.path.join(services.LOGS, service + '.log'),
                  errors='replace') as f:
            f.seek(mark)
            return f.read()

    def _service(self, name):
        return [s for s in services.services() if s.name == name][0]

    def restart_api(self):
        """Stop and start nova-api; return once it answers again."""
        services.stop(self._service('nova-api'))
        services.start(self._service('nova-api'))

    def _compute(self, host):
        return self._service('nova-compute-' + host)

    def stop_compute(self, host):
        return services.stop(self._compute(host))

    def start_compute(self, host):
        if not services.pid_of(self._compute(host)):
            services.start(self._compute(host))


class ExistingCloud(LocalCloud):
    """A cloud named in clouds.yaml (a devstack node in the gate)."""

    can_run_demo = False

    def __init__(self, cloud_name):
        self.name = 'cloud %s' % cloud_name
        self.cloud_name = cloud_name
        self.scheduler_unit = os.environ.get('E2E_SCHEDULER_UNIT',
                                             'devstack@n-sch')
        self.compute_unit = os.environ.get('E2E_COMPUTE_UNIT',
                                           'devstack@n-cpu-{index}')
        self.api_unit = os.environ.get('E2E_API_UNIT', 'devstack@n-api')
        self._roles = None

    def missing(self):
        return None

    def connect(self, user=None, project=None, password=None):
        if user is None:
            return openstack.connect(cloud=self.cloud_name,
                                     compute_api_version=MICROVERSION)
        admin = openstack.config.OpenStackConfig().get_one(self.cloud_name)
        auth = dict(admin.auth, username=user, project_name=project,
                    password=password)
        auth.pop('project_id', None)
        return openstack.connect(auth=auth, auth_type='password',
                                 region_name=admin.region_name,
                                 compute_api_version=MICROVERSION)

    def hosts(self, admin):
        if self._roles is None:
            names = sorted(s.host for s in admin.compute.services(
                binary='nova-compute'))
            if len(names) < len(TOPOLOGY):
                raise RuntimeError('the tests need %d nova-compute hosts, '
                                   '%s has %s' % (len(TOPOLOGY), self.name,
                                                  names))
            self._roles = dict(zip(sorted(TOPOLOGY), names, strict=False))
        return self._roles

    def ensure_topology(self, admin):
        roles = self.hosts(admin)
        cloud.ensure_aggregates(admin, [
            configs.Host(roles[role], host.availability_zone,
                         host.migration_domain)
            for role, host in TOPOLOGY.items()])

    def image_id(self, admin):
        images = sorted(admin.image.images(visibility='public'),
                        key=lambda image: image.name)
        return images[0].id

    def log_mark(self, service='nova-scheduler'):
        # journalctl takes whole seconds: a line of the second before may
        # come too; the tests look for lines naming their own server.
        return '%d' % (time.time() - 1)

    def log_since(self, mark, service='nova-scheduler'):
        unit = {'nova-scheduler': self.scheduler_unit,
                'nova-api': self.api_unit}[service]
        argv = ['sudo', 'journalctl', '-u', unit, '-o',
                'cat', '--no-pager', '--since', '@' + mark]
        return subprocess.run(argv, capture_output=True,  # noqa: S603
                              text=True, check=True).stdout

    def restart_api(self):
        subprocess.run(['sudo', 'systemctl', 'restart',  # noqa: S603,S607
                        self.api_unit], check=True)

    def _unit(self, host):
        index = sorted(self._roles.values()).index(host) + 1
        return self.compute_unit.format(index=index)

    def stop_compute(self, host):
        subprocess.run(['sudo', 'systemctl', 'stop',  # noqa: S603,S607
                        self._unit(host)], check=True)
        return True

    def start_compute(self, host):
        subprocess.run(['sudo', 'systemctl', 'start',  # noqa: S603,S607
                        self._unit(host)], check=True)


def current():
    name = os.environ.get('OS_CLOUD')
    return ExistingCloud(name) if name else LocalCloud()
