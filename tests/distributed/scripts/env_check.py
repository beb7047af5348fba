"""Run on every rank: record torchrun's environment, the ranks init_process_group found, argv."""
import json
import os
import sys

import ember.distributed as dist

out_dir = sys.argv[1]
dist.init_process_group()            # the default backend on CPU: mpi
rec = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                      "MASTER_ADDR", "MASTER_PORT")}
rec.update(rank=dist.get_rank(), world=dist.get_world_size(), backend=dist.get_backend(),
           argv=sys.argv[2:], name=__name__)
with open(os.path.join(out_dir, f"rank{dist.get_rank()}.json"), "w") as f:
    json.dump(rec, f)
dist.destroy_process_group()
