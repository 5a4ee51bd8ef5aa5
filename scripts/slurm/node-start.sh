#!/usr/bin/env bash
# Runs inside the gslab-slurm container (scripts/slurm/cluster.sh start): writes a one-node
# cluster's configuration and starts its daemons: munged, MariaDB + slurmdbd (so that sacct
# reports jobs' states and exit codes), slurmctld, slurmd. Idempotent: a running daemon is
# left alone. The node is the container (its hostname), with the cores and memory it sees.
set -euo pipefail
node=$(hostname -s)
cpus=$(nproc)
memory=$(($(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512))

running() { pgrep -x "$1" >/dev/null; }

# munge: one key for the cluster (every host of a real cluster shares it)
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
running munged || runuser -u munge -- munged

# Apptainer mounts a .sif with squashfuse as the user: /dev/fuse as on ordinary hosts
chmod 666 /dev/fuse

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm /run/slurm

cat >/etc/slurm/slurm.conf <<CONF
ClusterName=gslab
SlurmctldHost=$node
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups in a container: processes tracked by parentage, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# quick turnaround for tests: a finished job leaves squeue after 30 s (sacct keeps it)
MinJobAge=30
KillWait=10
ReturnToService=2
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
cat >/etc/slurm/cgroup.conf <<CONF
CgroupPlugin=disabled
CONF

if ! running mariadbd; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    runuser -u mysql -- mariadbd --skip-networking=0 --bind-address=127.0.0.1 \
        >/var/log/slurm/mariadb.log 2>&1 &
    for _ in $(seq 60); do
        mariadb -e 'select 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
fi

if ! running slurmdbd; then
    # the database password: new at each start, readable by slurm only (slurmdbd.conf is 0600)
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    mariadb <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE OR REPLACE USER 'slurm'@'localhost' IDENTIFIED BY '$password';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
    cat >/etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$password
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
CONF
    chown slurm:slurm /etc/slurm/slurmdbd.conf
    chmod 600 /etc/slurm/slurmdbd.conf
    slurmdbd
    for _ in $(seq 60); do
        sacctmgr -n list cluster >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
sacctmgr -n list cluster format=cluster | grep -qw gslab || sacctmgr -i add cluster gslab >/dev/null

running slurmctld || slurmctld
running slurmd || slurmd
for _ in $(seq 60); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    [ "$state" = idle ] && exit 0
    sleep 0.5
done
echo "error: node $node is '${state:-unknown}', not idle (see /var/log/slurm/ in the container)" >&2
exit 1
