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

"""Configuration files of the local cloud.

Everything listens on 127.0.0.1. Passwords are fixed and public: the cloud
is for trying the plugin on one machine, never for production.
"""

import dataclasses

PASSWORD = 'minicloud'
# The compute API microversion the tools and tests speak (nova 34's latest).
MICROVERSION = '2.95'
REGION = 'RegionOne'

PORTS = {
    'mariadb': 17306,
    'rabbitmq': 17672,
    'rabbitmq-dist': 17673,
    'epmd': 17369,
    'keystone': 17500,
    'glance': 17292,
    'neutron': 17696,
    'placement': 17778,
    'nova-api': 17774,
}


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    availability_zone: str
    migration_domain: str


# Two availability zones and two migration domains that cross them, so
# each rule can be seen on its own: compute1 and compute2 share az1 and
# nfs-a; compute3 is in az1 but on ceph-b; compute4 is on nfs-a but in az2.
HOSTS = (
    Host('compute1', 'az1', 'nfs-a'),
    Host('compute2', 'az1', 'nfs-a'),
    Host('compute3', 'az1', 'ceph-b'),
    Host('compute4', 'az2', 'nfs-a'),
)

# What the scheduler enforces in this cloud (nova.conf [livemig_ext]).
LIVEMIG_OPTIONS = {
    'same_availability_zone': 'True',
    'migration_domain_mode': 'required',
    'vcpu_max_utilization': '0.9',
    'ram_max_utilization': '0.9',
    'disk_max_utilization': '0.9',
    'weigher_strategy': 'spread',
}

FILTER = ('nova_livemig_ext.scheduler.filters.'
          'LiveMigrationDestinationFilter')
WEIGHER = 'nova_livemig_ext.scheduler.weighers.VacantResourceWeigher'
# nova's default enabled_filters, then ours (as the operator docs say).
NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                'ServerGroupAffinityFilter')
ENABLED_FILTERS = NOVA_FILTERS + ',LiveMigrationDestinationFilter'

LOG_LEVELS = ','.join((
    'amqp=WARN', 'amqplib=WARN', 'oslo.messaging=INFO',
    'oslo_messaging=INFO', 'sqlalchemy=WARN', 'urllib3.connectionpool=WARN',
    'keystonemiddleware=WARN', 'keystoneauth=WARN', 'stevedore=WARN',
    'oslo_policy=INFO', 'nova_livemig_ext=DEBUG'))


def url(service, path=''):
    return 'http://127.0.0.1:%d%s' % (PORTS[service], path)


def db_url(name):
    return 'mysql+pymysql://minicloud:%s@127.0.0.1:%d/%s?charset=utf8' % (
        PASSWORD, PORTS['mariadb'], name)


def rabbit_url():
    return 'rabbit://guest:guest@127.0.0.1:%d/' % PORTS['rabbitmq']


def _service_auth(username):
    return '\n'.join((
        'auth_type = password',
        'auth_url = %s' % url('keystone', '/v3'),
        'username = %s' % username,
        'password = %s' % PASSWORD,
        'project_name = service',
        'user_domain_name = Default',
        'project_domain_name = Default',
        'region_name = %s' % REGION,
    ))


def _authtoken(username):
    return '[keystone_authtoken]\nwww_authenticate_uri = %s\n%s\n' % (
        url('keystone', '/v3'), _service_auth(username))


def keystone_conf(data):
    return f"""[DEFAULT]
[database]
connection = {db_url('keystone')}
[token]
provider = fernet
[fernet_tokens]
key_repository = {data}/keystone/fernet-keys
[fernet_receipts]
key_repository = {data}/keystone/fernet-keys
[credential]
key_repository = {data}/keystone/credential-keys
"""


def placement_conf():
    return f"""[DEFAULT]
[placement_database]
connection = {db_url('placement')}
[api]
auth_strategy = keystone
{_authtoken('placement')}"""


def nova_conf(data, livemig_options, plugin=True):
    """nova.conf shared by every nova service of the cloud.

    :param plugin: False leaves the plugin out (nova's filters only), for
        the devstack plugin to add it.
    """
    if plugin:
        scheduler = '\n'.join((
            'available_filters = nova.scheduler.filters.all_filters',
            'available_filters = ' + FILTER,
            'enabled_filters = ' + ENABLED_FILTERS,
            'weight_classes = nova.scheduler.weights.all_weighers,' +
            WEIGHER, '[livemig_ext]')) + ''.join(
                '\n%s = %s' % item for item in sorted(livemig_options.items()))
    else:
        scheduler = 'enabled_filters = ' + NOVA_FILTERS
    return f"""[DEFAULT]
host = controller
my_ip = 127.0.0.1
state_path = {data}/nova
transport_url = {rabbit_url()}
compute_driver = minicloud.MinicloudDriver
default_log_levels = {LOG_LEVELS}
heal_instance_info_cache_interval = -1
# A stopped nova-compute shows as down after 20 s rather than 60 s.
report_interval = 5
service_down_time = 20
sync_power_state_interval = -1
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = api-paste.ini
[conductor]
workers = 1
[scheduler]
workers = 1
[filter_scheduler]
{scheduler}
[oslo_concurrency]
lock_path = {data}/nova/lock
[oslo_messaging_notifications]
# nova's versioned notifications, the plugin's no_destination among them,
# on the cloud's RabbitMQ (the e2e tests listen for it).
driver = messagingv2
[notifications]
notification_format = versioned
# With [cache] off nova asks dogpile for oslo_cache.dict, and dogpile then
# imports every cache backend installed: memcache_pool, without the
# python-memcached it needs, logs an ERROR in every process. dogpile's own
# memory backend (the same per-process dictionary) loads without that.
[cache]
enabled = True
backend = dogpile.cache.memory
[vnc]
enabled = False
{_authtoken('nova')}
[placement]
{_service_auth('placement')}
# timeout is left unset, as nova's default: the plugin's reads are then
# bounded by [livemig_ext] placement_read_timeout (30 s), and the end-to-end
# tests read through that path with real keystone tokens.
[neutron]
{_service_auth('nova')}
[glance]
{_service_auth('nova')}
[service_user]
send_service_user_token = False
"""


def nova_db_conf():
    """The databases, for every nova service but nova-compute.

    nova-compute reaches the databases through nova-conductor only: with
    ``[api_database] connection`` set it tries to read them at start and
    logs "No DB access allowed" at ERROR, as nova's own message says.
    """
    return f"""[api_database]
connection = {db_url('nova_api')}
[database]
connection = {db_url('nova')}
"""


def compute_conf(data, host):
    return f"""[DEFAULT]
host = {host.name}
state_path = {data}/{host.name}
[oslo_concurrency]
lock_path = {data}/{host.name}/lock
"""
