/* video.h - a clip's frames as images, in order (video.c): libmtmd has no video, so a clip is
 * asked as N images sampled evenly over its duration (the UMPIRE paper's video evaluation). */
#ifndef UMPIRE_VIDEO_VIDEO_H
#define UMPIRE_VIDEO_VIDEO_H

#include <stddef.h>

#define UMPIRE_VIDEO_MAX_FRAMES 64 /* more images than any prompt of a llava-style model holds */
#define UMPIRE_VIDEO_DEFAULT_FRAMES 8

struct umpire_frames {
    char **paths; /* the frames' image files, in time order */
    size_t n;
    double *seconds; /* each frame's time in the clip (NULL for a directory of frames) */
    char *tmpdir;    /* the folder of the decoded frames (removed by umpire_frames_free), or NULL */
};

/* The frames of PATH, at most n (1..UMPIRE_VIDEO_MAX_FRAMES) spread evenly over it:
 *  - a directory: its regular files, sorted by name (bytewise), read as they are; n of m
 *    files are files floor(i * m / n), i = 0..n-1 (all m of them when m <= n);
 *  - a video file (anything libavformat opens: mp4, mkv, avi, ...): its first video stream
 *    decoded at the times t_i = start + i * duration / n (the duration: the end of its last
 *    packet for a clip up to 64 MiB, else its header's), each the first frame whose time is
 *    at or past t_i minus half a frame, converted to RGB and written as a PPM file into a new
 *    private folder under $TMPDIR (or /tmp); the same frame reached twice (n above the clip's
 *    frame count) is kept once.
 * Returns 0, or a negative status with err naming the file ("clip.txt: not a video (Invalid
 * data found when processing input)", "clip.mkv: no frames", "DIR: no files"); nothing is left
 * behind then. Free with umpire_frames_free. */
int umpire_video_frames(const char *path, int n, struct umpire_frames *out, char *err);

/* The images a dataset item is asked with: its own, then its video's frames in order (decoded
 * into frames: umpire_frames_free after the question). *images is a new array of *n paths
 * (free it; the paths are the item's and frames'). Returns 0, or a negative status with err. */
struct umpire_dataset_item;
int umpire_item_images(const struct umpire_dataset_item *di, const char ***images, size_t *n,
                       struct umpire_frames *frames, char *err);

/* Remove the decoded frames (and their folder) and free what out holds; zeroes it. */
void umpire_frames_free(struct umpire_frames *f);

#endif
