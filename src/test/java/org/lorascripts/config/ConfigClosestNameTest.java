package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigClosestNameTest {
    @Test void damerauLevenshteinCountsSwapsAsOneEdit() {
        assertEquals(1, ClosestName.distance("laerning", "learning"));
        assertEquals(1, ClosestName.distance("cosin", "cosine"));
        assertEquals(3, ClosestName.distance("kitten", "sitting"));
    }

    @Test void suggestsOnlyCloseNames() {
        List<String> keys = ConfigKeys.allSpellings();
        assertEquals(Optional.of("learning_rate"), ClosestName.closest("learning_rat", keys));
        assertEquals(Optional.of("learning_rate"), ClosestName.closest("Learning-Rate", keys));
        assertEquals(Optional.of("lora_rank"), ClosestName.closest("lora_rnak", keys));
        assertEquals(Optional.of("gradient_checkpointing"), ClosestName.closest("gradient_checkpoint", keys));
        assertEquals(Optional.empty(), ClosestName.closest("foo", keys));
        assertEquals(Optional.empty(), ClosestName.closest("model", keys));
    }
}
