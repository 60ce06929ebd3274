package org.lorascripts.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Hub ids as users write them, and the environment variables read the way huggingface_hub reads them. */
class HubIdTest {
    @Test
    void idsWithRevisionsAndFiles() {
        assertEquals(new HubId("stabilityai/stable-diffusion-xl-base-1.0", "main", Optional.empty()),
                HubId.parse("stabilityai/stable-diffusion-xl-base-1.0").orElseThrow());
        assertEquals(new HubId("meta-llama/Llama-3.2-1B", "v1.0", Optional.empty()), HubId.parse("meta-llama/Llama-3.2-1B@v1.0").orElseThrow());
        assertEquals(new HubId("acme/loras", "main", Optional.of("style.safetensors")), HubId.parse("acme/loras/style.safetensors").orElseThrow());
        assertEquals(new HubId("acme/sd", "main", Optional.of("unet/diffusion_pytorch_model.safetensors")),
                HubId.parse("acme/sd/unet/diffusion_pytorch_model.safetensors").orElseThrow());
        assertEquals(new HubId("acme/loras", "abc123", Optional.of("a.safetensors")), HubId.parse("acme/loras@abc123/a.safetensors").orElseThrow());
        assertEquals(new HubId("acme/loras", "v2", Optional.of("a.safetensors")), HubId.parse("acme/loras/a.safetensors@v2").orElseThrow());
        assertEquals(new HubId("acme/m", "refs/pr/1", Optional.empty()), HubId.parse("acme/m@refs/pr/1").orElseThrow());
        assertEquals("acme/m@v2/x.safetensors", new HubId("acme/m", "v2", Optional.of("x.safetensors")).toString());
    }

    @Test
    void pathsAreNotIds() {
        for (String path : new String[] {"/models/sd", "./models/sd", "../sd/x", "~/models/sd", "builtin:tiny-sd", "C:/models/x",
                "model.safetensors", "models/v1-5.safetensors", "a//b", "a/b/", "a/..", "acme/x--y",
                "data/my/images", "a/b@", "a@b@c/d", "-a/b"}) {
            assertEquals(Optional.empty(), HubId.parse(path), path);
        }
    }

    @Test
    void theCacheFollowsHfHubCacheThenHfHomeThenXdg() {
        Path home = Path.of("/home/u");
        HubEnvironment d = HubEnvironment.from(Map.of(), home);
        assertEquals(Path.of("/home/u/.cache/huggingface/hub"), d.cacheDir());
        assertEquals("https://huggingface.co", d.endpoint().toString());
        assertTrue(d.token().isEmpty());
        assertEquals(false, d.offline());
        assertEquals(Path.of("/x/huggingface/hub"), HubEnvironment.from(Map.of("XDG_CACHE_HOME", "/x"), home).cacheDir());
        assertEquals(Path.of("/hf/hub"), HubEnvironment.from(Map.of("XDG_CACHE_HOME", "/x", "HF_HOME", "/hf"), home).cacheDir());
        assertEquals(Path.of("/c"), HubEnvironment.from(Map.of("HF_HOME", "/hf", "HF_HUB_CACHE", "/c"), home).cacheDir());
        assertEquals(Path.of("/home/u/hf/hub"), HubEnvironment.from(Map.of("HF_HOME", "~/hf"), home).cacheDir());
        assertEquals("https://hf-mirror.com", HubEnvironment.from(Map.of("HF_ENDPOINT", "https://hf-mirror.com/"), home).endpoint().toString());
        for (String on : new String[] {"1", "true", "YES", "on"}) assertTrue(HubEnvironment.from(Map.of("HF_HUB_OFFLINE", on), home).offline(), on);
        assertEquals(false, HubEnvironment.from(Map.of("HF_HUB_OFFLINE", "0"), home).offline());
        assertEquals(Optional.of("hf_a"), HubEnvironment.from(Map.of("HF_TOKEN", " hf_a "), home).token());
    }

    @Test
    void aSnapshotFolderNamesItsRepository() {
        Path snap = Path.of("/c/hub/models--TinyLlama--TinyLlama-1.1B-Chat-v1.0/snapshots/fe8a4ea1ffedaf415f4da2f062534de366a451e6");
        assertEquals(Optional.of("TinyLlama/TinyLlama-1.1B-Chat-v1.0"), HubCache.repoIdOf(snap));
        assertEquals(Optional.empty(), HubCache.repoIdOf(Path.of("/models/Llama-3.2-1B")));
        assertEquals(Optional.empty(), HubCache.repoIdOf(snap.resolve("unet")));
        assertEquals(Optional.empty(), HubCache.repoIdOf(Path.of("/c/hub/datasets--a--b/snapshots/fe8a4ea1ffedaf415f4da2f062534de366a451e6")));
    }

    @Test
    void aBadEndpointIsOneLine() {
        HubException e = org.junit.jupiter.api.Assertions.assertThrows(HubException.class,
                () -> HubEnvironment.from(Map.of("HF_ENDPOINT", "hf-mirror.com"), Path.of("/h")));
        assertEquals("HF_ENDPOINT 'hf-mirror.com' is not an http(s) URL: set it to e.g. https://hf-mirror.com", e.getMessage());
    }
}
