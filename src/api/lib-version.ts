/** The version of libvirt's API that snapvirt mirrors, in its own module so `version` can print it without loading the API. */

/** libvirt's version number of the API snapvirt mirrors (9.0.0), as virGetVersion reports it. */
export const LIBVIRT_API_VERSION = 9_000_000;
