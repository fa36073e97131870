#!/bin/sh
# umpire eval as a Slurm array job, on a real single-node Slurm cluster on 127.0.0.1 that this
# test starts (munged, slurmctld, slurmd as plain processes, their config, state and sockets in
# a temporary directory, ports picked free) and stops at the end, failure or not:
#  1. scripts/slurm/submit-eval runs a 20-question dataset as a 4-task array plus the merge job
#     (--dependency=afterok); task 2 is cancelled (scancel) while it runs, which also drops
#     the merge, whose dependency can no longer be met;
#  2. submit-eval --tasks 2 resubmits that task and a new merge: the task resumes its shard;
#  3. the merged run equals an unsharded run of the same dataset item for item (byte for byte)
#     and metric for metric (summary.json), and shard 3/4 holds every one of its items once.
# Skips (exit 77), saying why, only where Slurm cannot run: not root, or slurm-wlm / munge not
# installed (scripts/setup --test installs them). Started but not working is a failure.
# Usage: slurm_eval.sh UMPIRE MODELS_DIR WORK_DIR SCRIPTS_SLURM_DIR
umpire=$1
models=$2
dir=$3
scripts=$4
PATH=$PATH:/usr/sbin:/sbin
export PATH
skip() {
    echo "skipped: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "not root: slurmd runs jobs as their users, so it must run as root"
for b in munged munge slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
    command -v $b > /dev/null || skip "$b is not installed (scripts/setup --test installs slurm-wlm and munge)"
done
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() { # NAME STATUS DETAIL; returns STATUS
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
    return "$2"
}
# daemons' files in /tmp: a unix socket's path is limited to 108 bytes, a build tree's may be long
d=$(mktemp -d /tmp/umpire-slurm.XXXXXX)
pids=
cleanup() {
    if [ -n "$pids" ]; then
        # the jobs first (slurmd's children), waited for, then the daemons this test started
        scancel --user=root > /dev/null 2>&1
        n=0
        while [ -n "$(squeue -h -o %i 2> /dev/null)" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
        for p in $pids; do kill "$p" 2> /dev/null; done
        n=0
        for p in $pids; do
            while kill -0 "$p" 2> /dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
            kill -9 "$p" 2> /dev/null
        done
    fi
    rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
logs() {
    for f in "$d"/munged.log "$d"/slurmctld.log "$d"/slurmd.log; do
        echo "--- $f"
        tail -n 15 "$f" 2> /dev/null
    done
}

# munge: its own key and socket
mkdir -m 700 "$d/munge"
head -c 1024 /dev/urandom > "$d/munge/munge.key"
chmod 400 "$d/munge/munge.key"
chmod 755 "$d"
sock=$d/munge.socket
munged -F -f --socket="$sock" --key-file="$d/munge/munge.key" --pid-file="$d/munged.pid" \
    --log-file="$d/munged.log" --seed-file="$d/munge/seed" > /dev/null 2>&1 &
pids="$!"
n=0
until munge -S "$sock" -n > /dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 100 ] || { logs; echo "FAIL munged did not start"; exit 1; }
    sleep 0.1
done

# slurm: one node of 4 CPUs, no cgroups, ports free now
set -- $(/usr/bin/python3 -c "
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(('127.0.0.1', 0))
print(*[x.getsockname()[1] for x in s])")
host=$(uname -n)
host=${host%%.*} # slurmctld checks SlurmctldHost against the short host name
mkdir "$d/state" "$d/spool"
cat > "$d/slurm.conf" << EOF
ClusterName=umpiretest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerParameters=sched_min_interval=100000
KillWait=2
MinJobAge=600
MailProg=/bin/true
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=n1 Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$d/slurm.conf"
slurmctld -D -i > "$d/slurmctld.out" 2>&1 &
pids="$! $pids"
slurmd -D -N n1 > "$d/slurmd.out" 2>&1 &
pids="$! $pids"
n=0
until [ "$(sinfo -h -n n1 -o %T 2> /dev/null)" = idle ]; do
    n=$((n + 1))
    [ $n -lt 300 ] || { logs; echo "FAIL the Slurm node did not come up"; exit 1; }
    sleep 0.1
done
echo "ok   Slurm up on 127.0.0.1:$1 (slurmctld) and :$2 (slurmd), node n1 idle"

# wait_jobs ID...: until none is in the queue (bounded: 120 s), then each one's state
wait_jobs() {
    n=0
    while [ -n "$(squeue -h -j "$(echo "$@" | tr ' ' ,)" -o %i 2> /dev/null)" ]; do
        n=$((n + 1))
        [ $n -lt 1200 ] || { echo "FAIL jobs $* still queued after 120 s"; squeue; logs; return 1; }
        sleep 0.1
    done
}
state() { scontrol show job -o "$1" 2> /dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p' | sort -u | tr '\n' ' '; }

# The dataset: 20 questions to the 59M model (Q4_K_M, 1 thread a task, as the reference). A
# random-weight model is never right, so a first run's answers become the accepted ones of
# every third question: right and wrong answers, every metric defined.
m="$models/m60-q4k.gguf"
opts="-k 3 -n 8 --seed 7"
/usr/bin/python3 -c "
import json
for i in range(0, 20, 3):
    print(json.dumps({'id': f'q{i}', 'question': f'Which colour is the thing number {i}?', 'answers': ['red']}))
" > "$d/first.jsonl"
"$umpire" eval -m "$m" --data "$d/first.jsonl" --out "$dir/first" $opts -t 1 --bootstrap 0 > /dev/null 2>&1
check "a first run for the accepted answers" $? "$(tail -3 "$dir/first/items.jsonl" 2>&1)"
/usr/bin/python3 - "$dir/first/items.jsonl" > "$dir/data.jsonl" << 'PY'
import json, sys
right = {r["id"]: r["answer"] for r in map(json.loads, open(sys.argv[1]))}
for i in range(20):
    q = f"q{i}"
    print(json.dumps({"id": q, "question": f"Which colour is the thing number {i}?",
                      "answers": [right[q]] if right.get(q) else ["red"]}))
PY
"$umpire" eval -m "$m" --data "$dir/data.jsonl" --out "$dir/whole" $opts -t 1 > "$dir/whole.out" 2>&1
check "the unsharded run" $? "$(tail -3 "$dir/whole.out")"

# 1. the array and its merge; task 2 (shard 3/4, items 2, 6, 10, 14, 18) cancelled mid-run. On
# a machine fast enough for the task to finish between two looks (50 ms apart), its shard is
# removed and the task alone submitted again, up to 3 tries.
runs=$dir/runs
submit() { # [submit-eval options]: "ARRAY MERGE"
    UMPIRE=$umpire "$scripts/submit-eval" "$@" --sbatch "--cpus-per-task=1" 4 "$runs" -- -m "$m" \
        --data "$dir/data.jsonl" $opts 2> "$dir/submit.err"
}
ids=$(submit)
check "submit-eval: an array job and a merge job" $? "$(cat "$dir/submit.err")" || exit 1
first=${ids% *} array=${ids% *} merge=${ids#* }
try=1 at_kill=
while :; do
    n=0
    while [ $n -lt 1200 ]; do # until task 2 has 1..4 of its 5 items (bounded: 60 s)
        lines=$(cat "$runs/shard-2/items.jsonl" 2> /dev/null | wc -l)
        if [ "$lines" -ge 1 ] && [ "$lines" -lt 5 ]; then
            scancel "${array}_2"
            at_kill=$lines
            break
        fi
        [ "$lines" -lt 5 ] || break
        n=$((n + 1))
        sleep 0.05
    done
    [ -z "$at_kill" ] && [ $try -lt 3 ] || break
    echo "note: try $try: task 2 finished its 5 items before it was seen running; again"
    wait_jobs "$array" "$merge" || break
    rm -rf "$runs/shard-2" "$runs/merged"
    ids=$(submit --tasks 2)
    array=${ids% *} merge=${ids#* }
    try=$((try + 1))
done
[ -n "$at_kill" ]
check "task 2 cancelled mid-run (with $at_kill of its 5 items done)" $? "its shard had $lines items when seen"
wait_jobs "$array" "$merge"
st=$(state "${array}_2")
case "$st" in CANCELLED*) r=0 ;; *) r=1 ;; esac
check "task 2 ended CANCELLED" $r "$st"
for t in 0 1 3; do
    st=$(state "${first}_$t")
    [ "$st" = "COMPLETED " ]
    check "task $t COMPLETED" $? "$st; $(tail -3 "$runs/eval-${first}_$t.out")"
done
st=$(state "$merge")
[ ! -e "$runs/merged/items.jsonl" ]
check "the merge did not run ($st)" $? "$runs/merged exists"
kept=$(wc -l < "$runs/shard-2/items.jsonl")
[ "$kept" -ge "$at_kill" ] && [ "$kept" -lt 5 ]
check "the cancelled shard kept its finished items ($kept)" $? "$kept lines"

# 2. task 2 again, and a merge waiting for it alone
ids=$(submit --tasks 2)
check "submit-eval --tasks 2" $? "$(cat "$dir/submit.err")"
array2=${ids% *} merge2=${ids#* }
wait_jobs "$array2" "$merge2"
st=$(state "${array2}_2")
[ "$st" = "COMPLETED " ]
check "task 2 resubmitted: COMPLETED" $? "$st; $(tail -3 "$runs/eval-${array2}_2.out" 2>&1)"
grep -q "shard 3/4 (SLURM_ARRAY_TASK_ID=2 of --shards 4)" "$runs/eval-${array2}_2.out"
check "it ran shard 3/4" $? "$(head -3 "$runs/eval-${array2}_2.out")"
grep -q "^eval: $((kept + 1))/5 items" "$runs/eval-${array2}_2.out"
check "it resumed: its first item done was item $((kept + 1)) of 5" $? "$(grep '^eval:' "$runs/eval-${array2}_2.out")"
st=$(state "$merge2")
[ "$st" = "COMPLETED " ]
check "the merge: COMPLETED" $? "$st; $(tail -5 "$runs/merge-$merge2.out" 2>&1)"

# 3. the merged run is the unsharded one
/usr/bin/python3 - "$runs/shard-2/items.jsonl" << 'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
sys.exit(0 if ids == ["q2", "q6", "q10", "q14", "q18"] else print("shard 3/4 holds", ids) or 1)
PY
check "shard 3/4: each of its 5 items once, in order" $? ""
cmp "$dir/whole/items.jsonl" "$runs/merged/items.jsonl" > /dev/null
check "merged items.jsonl = the unsharded run's, byte for byte" $? \
    "$(cmp "$dir/whole/items.jsonl" "$runs/merged/items.jsonl" 2>&1)"
/usr/bin/python3 - "$dir/whole/summary.json" "$runs/merged/summary.json" << 'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert 0 < a["accuracy"] < 1, f"accuracy {a['accuracy']}: the metrics would be undefined"
defined = sum(1 for m in a["metrics"].values() if isinstance(m.get("auroc"), (int, float)))
assert defined >= 10, f"only {defined} estimators with an AUROC"
assert set(a) == set(b), f"keys {sorted(a)} != {sorted(b)}"
for key in a:
    assert a[key] == b[key], f"{key}: {a[key]} != {b[key]}"
print(f"n {a['n']}, accuracy {a['accuracy']:.3f}, {defined} estimators' metrics equal")
PY
check "merged summary.json = the unsharded run's (n, accuracy, alpha, splits, every metric and interval)" $? ""

[ $fails -eq 0 ] || logs
echo "$fails failed"
[ $fails -eq 0 ]
