#!/usr/bin/env bash
# Runs inside a node of the gslab-slurm cluster (scripts/slurm/cluster.sh start), as
#   node-start.sh login     the login node: munged, MariaDB + slurmdbd (so that sacct reports
#                           jobs' states and exit codes), slurmctld
#   node-start.sh compute   a compute node: munged, slurmd
#   node-start.sh wait      (on the login node) until every compute node is idle
# Every node writes the same slurm.conf from GSLAB_LOGIN_NODE and GSLAB_COMPUTE_NODES (host
# names, which the cluster's network resolves), each compute node with the cores and memory
# the containers see (they share this machine). Idempotent: a running daemon is left alone.
set -euo pipefail
role=${1:?usage: node-start.sh login|compute|wait}
login=${GSLAB_LOGIN_NODE:?}
read -r -a nodes <<<"${GSLAB_COMPUTE_NODES:?}"
cpus=$(nproc)
memory=$(($(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512))

running() { pgrep -x "$1" >/dev/null; }

# wait_idle: every compute node idle (a node back from a loss: ReturnToService=2 frees it)
wait_idle() {
    local states=""
    for _ in $(seq 120); do
        states=$(sinfo -h -N -n "$(IFS=,; echo "${nodes[*]}")" -o '%N=%T' 2>/dev/null | sort -u |
            paste -sd' ' -) || true
        [ -n "$states" ] && ! grep -qv '=idle$' <<<"${states// /$'\n'}" && return 0
        sleep 0.5
    done
    echo "error: compute nodes not idle: ${states:-no answer} (see /var/log/slurm/ on the nodes)" >&2
    return 1
}
if [ "$role" = wait ]; then
    wait_idle
    exit
fi

# munge: the cluster's key, made once by cluster.sh and mounted on every node
install -o munge -g munge -m 400 /etc/gslab-cluster/munge.key /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
running munged || runuser -u munge -- munged

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm /run/slurm

node_list=$(IFS=,; echo "${nodes[*]}")
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=gslab
SlurmctldHost=$login
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
# srun --mpi=pmi2 (hpc/gray-scott-mpi.sbatch): the image's MPI speaks PMI-2's wire protocol
MpiDefault=none
# the ports srun listens on for its tasks' nodes (an admin opens them between the nodes)
SrunPortRange=60001-60100
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$login
# quick turnaround for tests: a finished job leaves squeue after 30 s (sacct keeps it); a
# node that stops answering is DOWN after 10 s (its jobs NODE_FAIL) and returns when back
MinJobAge=30
KillWait=10
SlurmdTimeout=10
ReturnToService=2
# a batch job lost with its node ends NODE_FAIL, and is not started again from scratch (over
# the frames it wrote, or as a lab the hub no longer waits for)
JobRequeue=0
# what every task gets (compute nodes): see the task prolog below
TaskProlog=/etc/slurm/task-prolog.sh
NodeName=DEFAULT CPUs=$cpus RealMemory=$memory State=UNKNOWN
# Weight: a one-node job goes to the first node while it has room (tests know where to look)
$(for i in "${!nodes[@]}"; do echo "NodeName=${nodes[$i]} Weight=$((i + 1))"; done)
PartitionName=debug Nodes=$node_list Default=YES MaxTime=INFINITE State=UP
CONF
cat >/etc/slurm/cgroup.conf <<CONF
CgroupPlugin=disabled
CONF

if [ "$role" = compute ]; then
    # The nodes are containers of one machine: one kernel, one boot id, so UCX (the image's
    # MPI between nodes) takes them for one host and tries its shared memory between them
    # ("Destination is unreachable", or a hang, now and then). On this test cluster UCX
    # uses TCP only; on real hosts it needs nothing.
    cat >/etc/slurm/task-prolog.sh <<'PROLOG'
#!/bin/sh
echo "export UCX_TLS=tcp,self"
PROLOG
    chmod 755 /etc/slurm/task-prolog.sh
    # Apptainer mounts a .sif with squashfuse as the user: /dev/fuse as on ordinary hosts
    chmod 666 /dev/fuse
    running slurmd || slurmd
    exit 0
fi

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
DbdHost=$login
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
