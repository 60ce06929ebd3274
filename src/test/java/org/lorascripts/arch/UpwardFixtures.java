package org.lorascripts.arch;

/** Classes that break the layering on purpose, for {@link LayeringTest} to find. */
final class UpwardFixtures {
    private UpwardFixtures() {}

    /** Poses as an nn class that calls the CLI. */
    static final class NnUsesCli {
        static void run() throws Exception { org.lorascripts.cli.Main.main(new String[0]); }
    }

    /** Poses as a data class that uses the training loop (a sideways dependency inside one layer). */
    static final class DataUsesTrain {
        static Object signal() { return org.lorascripts.train.StopSignal.class; }
    }
}
