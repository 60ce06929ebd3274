package org.lorascripts.dist;

import java.util.Map;
import java.util.Optional;

/**
 * Where this process stands in a data-parallel job, read from the variables torchrun sets (and
 * {@code ./lora train --nproc} sets for its workers): MASTER_ADDR and MASTER_PORT (where rank 0 serves the
 * rendezvous store), WORLD_SIZE, RANK (0..WORLD_SIZE-1) and LOCAL_RANK (the rank on this host, which picks
 * the GPU).
 */
public record DistEnv(String masterAddr, int masterPort, int worldSize, int rank, int localRank) {
    public static final String MASTER_ADDR = "MASTER_ADDR", MASTER_PORT = "MASTER_PORT", WORLD_SIZE = "WORLD_SIZE",
            RANK = "RANK", LOCAL_RANK = "LOCAL_RANK";

    public DistEnv {
        if (worldSize < 1) throw new DistributedException("WORLD_SIZE must be at least 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new DistributedException("RANK " + rank + " is outside 0.." + (worldSize - 1) + " (WORLD_SIZE " + worldSize + ")");
        if (localRank < 0) throw new DistributedException("LOCAL_RANK must be >= 0, got " + localRank);
        if (masterPort < 1 || masterPort > 65535) throw new DistributedException("MASTER_PORT " + masterPort + " is outside 1..65535");
        if (masterAddr == null || masterAddr.isBlank()) throw new DistributedException("MASTER_ADDR is empty");
    }

    public boolean isMain() { return rank == 0; }

    /**
     * The job this process belongs to, or empty when WORLD_SIZE is unset (a plain single-process run).
     * With WORLD_SIZE set, RANK and MASTER_PORT must be set too; MASTER_ADDR defaults to 127.0.0.1 and
     * LOCAL_RANK to RANK, as for a job on one host. A malformed value is a one-line error naming it.
     */
    public static Optional<DistEnv> from(Map<String, String> env) {
        String world = env.get(WORLD_SIZE);
        if (world == null || world.isBlank()) return Optional.empty();
        int w = integer(env, WORLD_SIZE);
        if (env.get(RANK) == null) throw new DistributedException("WORLD_SIZE is set (" + world.strip() + ") but RANK is not: set RANK to this process's rank (0.." + (w - 1) + "), or unset WORLD_SIZE for a single-process run");
        int r = integer(env, RANK);
        if (env.get(MASTER_PORT) == null) throw new DistributedException("WORLD_SIZE is set but MASTER_PORT is not: set MASTER_PORT to the port rank 0 listens on (e.g. 29500)");
        int port = integer(env, MASTER_PORT);
        int local = env.get(LOCAL_RANK) == null ? r : integer(env, LOCAL_RANK);
        String addr = env.getOrDefault(MASTER_ADDR, "127.0.0.1");
        return Optional.of(new DistEnv(addr.strip(), port, w, r, local));
    }

    /** The variables a worker of this job gets (for launching one). */
    public Map<String, String> toEnvironment() {
        return Map.of(MASTER_ADDR, masterAddr, MASTER_PORT, Integer.toString(masterPort), WORLD_SIZE, Integer.toString(worldSize),
                RANK, Integer.toString(rank), LOCAL_RANK, Integer.toString(localRank));
    }

    private static int integer(Map<String, String> env, String name) {
        String v = env.get(name).strip();
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new DistributedException(name + "='" + v + "' is not an integer");
        }
    }
}
