package org.lorascripts.models.sd;

/** The Stable Diffusion generations this package loads. */
public enum SdFamily {
    /** SD 1.x: CLIP ViT-L/14 text encoder (768), 1x1-conv transformer projections, 8 heads. */
    SD1("Stable Diffusion 1.x"),
    /** SD 2.x: OpenCLIP ViT-H/14 text encoder (1024), linear projections, 64-wide heads. */
    SD2("Stable Diffusion 2.x"),
    /** SDXL base: CLIP ViT-L (768) and OpenCLIP ViT-bigG (1280) text encoders, pooled text and time ids as added conditions. */
    SDXL("Stable Diffusion XL");

    public final String displayName;

    SdFamily(String displayName) { this.displayName = displayName; }
}
