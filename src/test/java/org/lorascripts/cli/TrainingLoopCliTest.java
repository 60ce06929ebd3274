package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.config.TaskType;
import org.lorascripts.train.TrainingException;
import org.lorascripts.train.TrainingInterruptedException;
import org.lorascripts.tasks.Trainers;

/** How ./lora train reports the training loop's two ways of ending early. */
class TrainingLoopCliTest {
    private static CliTrainCommandTest.Run trainWith(org.lorascripts.train.Trainer trainer) {
        Trainers.register(TaskType.TEXT_GENERATION, () -> trainer);
        try {
            return CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart-text.yaml");
        } finally {
            Trainers.reset();
        }
    }

    @Test void ctrlCExitsWith130() {
        var r = trainWith((c, resume) -> { throw new TrainingInterruptedException("training stopped by Ctrl-C at step 7"); });
        assertEquals(130, r.code(), r.err());
        assertTrue(r.err().endsWith("training stopped by Ctrl-C at step 7\n"), r.err());
    }

    @Test void aTrainingProblemIsOneLineAndExitTwo() {
        var r = trainWith((c, resume) -> { throw new TrainingException("could not save checkpoint out/step-9: No space left on device"); });
        assertEquals(2, r.code());
        assertTrue(r.err().endsWith("error: could not save checkpoint out/step-9: No space left on device\n"), r.err());
    }
}
