/* video.c - a clip's frames as images (video.h): a directory of frames sorted by name, or a
 * video file decoded with libavformat/libavcodec, seeked evenly over its duration, each frame
 * converted to RGB with libswscale and written as a PPM file (the engine reads images by path;
 * stb_image, libmtmd's reader, reads PPM) into a private temporary folder. */
#define _POSIX_C_SOURCE 200809L
#include "video/video.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "core/status.h"
#include "io/output.h"
#include "io/path.h"
#include "umpire.h"

void umpire_frames_free(struct umpire_frames *f) {
    for (size_t i = 0; i < f->n; i++) {
        if (f->tmpdir)
            unlink(f->paths[i]);
        free(f->paths[i]);
    }
    if (f->tmpdir)
        rmdir(f->tmpdir);
    free(f->paths);
    free(f->seconds);
    free(f->tmpdir);
    memset(f, 0, sizeof *f);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------- a directory of frames */

static int from_dir(const char *path, int n, struct umpire_frames *out, char *err) {
    DIR *d = opendir(path);
    if (!d)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open the folder of frames (%s)", path, strerror(errno));
    char **names = NULL;
    size_t m = 0, cap = 0;
    int rc = UMPIRE_OK;
    for (struct dirent *e; rc == UMPIRE_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') /* ".", ".." and hidden files are no frames */
            continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        struct stat st;
        if (!full) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        snprintf(full, len, "%s/%s", path, e->d_name);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (m == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(names, cap * sizeof *g);
            if (!g) {
                free(full);
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
                break;
            }
            names = g;
        }
        names[m++] = full;
    }
    closedir(d);
    if (rc == UMPIRE_OK && m == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no files (a folder of frames holds one image file a frame)", path);
    size_t k = m < (size_t)n ? m : (size_t)n;
    if (rc == UMPIRE_OK && !(out->paths = calloc(k, sizeof *out->paths)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK) {
        qsort(names, m, sizeof *names, by_name);
        for (size_t i = 0; i < k; i++) { /* file floor(i * m / k): the first, then evenly */
            size_t j = i * m / k;
            out->paths[out->n++] = names[j];
            names[j] = NULL;
        }
    }
    for (size_t i = 0; i < m; i++)
        free(names[i]);
    free(names);
    if (rc != UMPIRE_OK)
        umpire_frames_free(out);
    return rc;
}

/* ---------------------------------------------------------------- a video file */

#define SCAN_MAX_BYTES (64 << 20)

struct clip {
    const char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame; /* the frame decoded last (valid when have) */
    struct SwsContext *sws;
    int stream, have, eof;
    int64_t start, duration, half; /* in the stream's time base */
};

static int av_fail(char *err, const char *path, const char *what, int averr) {
    char msg[128];
    av_strerror(averr, msg, sizeof msg);
    return umpire_fail(err, UMPIRE_EIO, "%s: %s (%s)", path, what, msg);
}

/* The next decoded frame into c->frame: 0, 1 at the end of the stream, or a negative status. */
static int next_frame(struct clip *c, char *err) {
    for (;;) {
        int r = avcodec_receive_frame(c->dec, c->frame);
        if (r == 0) {
            c->have = 1;
            return 0;
        }
        if (r == AVERROR_EOF)
            return 1;
        if (r != AVERROR(EAGAIN))
            return av_fail(err, c->path, "cannot decode a frame", r);
        if (c->eof)
            return 1;
        r = av_read_frame(c->fmt, c->pkt);
        if (r == AVERROR_EOF) {
            c->eof = 1;
            avcodec_send_packet(c->dec, NULL); /* drain what the decoder holds */
            continue;
        }
        if (r < 0)
            return av_fail(err, c->path, "cannot read the clip", r);
        if (c->pkt->stream_index == c->stream) {
            r = avcodec_send_packet(c->dec, c->pkt);
            if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA) {
                av_packet_unref(c->pkt);
                return av_fail(err, c->path, "cannot decode a packet", r);
            }
        }
        av_packet_unref(c->pkt);
    }
}

static int64_t frame_time(const AVFrame *f) {
    return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

/* The clip's length from its packets: the end of the last one (a packet without a duration
 * lasts a frame). */
static int64_t scan_duration(struct clip *c) {
    int64_t end = c->start;
    while (av_read_frame(c->fmt, c->pkt) >= 0) {
        if (c->pkt->stream_index == c->stream && c->pkt->pts != AV_NOPTS_VALUE) {
            int64_t e = c->pkt->pts + (c->pkt->duration > 0 ? c->pkt->duration : 2 * c->half);
            if (e > end)
                end = e;
        }
        av_packet_unref(c->pkt);
    }
    av_seek_frame(c->fmt, c->stream, c->start, AVSEEK_FLAG_BACKWARD);
    return end - c->start;
}

static int open_clip(struct clip *c, char *err) {
    int r = avformat_open_input(&c->fmt, c->path, NULL, NULL);
    if (r < 0)
        return av_fail(err, c->path, "not a video", r);
    if ((r = avformat_find_stream_info(c->fmt, NULL)) < 0)
        return av_fail(err, c->path, "not a video", r);
    const AVCodec *codec = NULL;
    c->stream = av_find_best_stream(c->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (c->stream < 0)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not a video (no video stream)", c->path);
    AVStream *st = c->fmt->streams[c->stream];
    if (!codec)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: no decoder for its video codec (%s)", c->path,
                           avcodec_get_name(st->codecpar->codec_id));
    if (!(c->dec = avcodec_alloc_context3(codec)) || !(c->pkt = av_packet_alloc()) || !(c->frame = av_frame_alloc()))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    c->dec->thread_count = 1;
    if ((r = avcodec_parameters_to_context(c->dec, st->codecpar)) < 0 || (r = avcodec_open2(c->dec, codec, NULL)) < 0)
        return av_fail(err, c->path, "cannot open its video decoder", r);
    c->start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    c->half = rate.num > 0 ? av_rescale_q(1, av_inv_q(rate), st->time_base) / 2 : 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        c->duration = st->duration;
    else if (c->fmt->duration != AV_NOPTS_VALUE && c->fmt->duration > 0)
        c->duration = av_rescale_q(c->fmt->duration, AV_TIME_BASE_Q, st->time_base);
    /* a short clip's packets say its length best (a header's duration may end where the last
     * frame starts: asked for all of them, that frame would be lost); a long one's header */
    struct stat sb;
    if (c->duration <= 0 || (stat(c->path, &sb) == 0 && sb.st_size <= SCAN_MAX_BYTES)) {
        int64_t scanned = scan_duration(c);
        c->duration = scanned > c->duration ? scanned : c->duration;
    }
    return UMPIRE_OK;
}

static void close_clip(struct clip *c) {
    sws_freeContext(c->sws);
    av_frame_free(&c->frame);
    av_packet_free(&c->pkt);
    avcodec_free_context(&c->dec);
    avformat_close_input(&c->fmt);
}

/* c->frame as RGB into a binary PPM (P6) at file. */
static int write_ppm(struct clip *c, const char *file, char *err) {
    const AVFrame *f = c->frame;
    if (f->width <= 0 || f->height <= 0)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: a frame of size %dx%d", c->path, f->width, f->height);
    c->sws = sws_getCachedContext(c->sws, f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!c->sws)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: cannot convert its frames (pixel format %s) to RGB", c->path,
                           av_get_pix_fmt_name((enum AVPixelFormat)f->format));
    size_t row = (size_t)f->width * 3;
    uint8_t *rgb = malloc(row * (size_t)f->height);
    if (!rgb)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    uint8_t *dst[4] = {rgb, NULL, NULL, NULL};
    int stride[4] = {(int)row, 0, 0, 0};
    sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    struct umpire_output o; /* the one safe writer */
    int rc = umpire_output_open(&o, file, err);
    if (rc == UMPIRE_OK) {
        int w = fprintf(o.f, "P6\n%d %d\n255\n", f->width, f->height) < 0 ||
                        fwrite(rgb, 1, row * (size_t)f->height, o.f) != row * (size_t)f->height
                    ? umpire_fail(err, UMPIRE_EIO, "%s: cannot write a frame (%s)", file, strerror(errno))
                    : UMPIRE_OK;
        rc = umpire_output_close(&o, w, err);
    }
    free(rgb);
    return rc;
}

static int from_clip(const char *path, int n, struct umpire_frames *out, char *err) {
    int rc = umpire_regular_file(path, "video", err);
    if (rc)
        return rc;
    struct clip c = {.path = path};
    const char *tmp = getenv("TMPDIR");
    size_t len = strlen(tmp && tmp[0] ? tmp : "/tmp") + 32;
    if (!(out->paths = calloc((size_t)n, sizeof *out->paths)) || !(out->seconds = calloc((size_t)n, sizeof *out->seconds)) ||
        !(out->tmpdir = malloc(len)))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    if (rc == UMPIRE_OK) {
        snprintf(out->tmpdir, len, "%s/umpire-video-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(out->tmpdir)) {
            rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot make a folder for the frames (%s)", out->tmpdir, strerror(errno));
            free(out->tmpdir);
            out->tmpdir = NULL;
        }
    }
    if (rc == UMPIRE_OK)
        rc = open_clip(&c, err);
    AVRational tb = rc == UMPIRE_OK ? c.fmt->streams[c.stream]->time_base : (AVRational){0, 1};
    int64_t taken = AV_NOPTS_VALUE; /* the time of the frame kept last */
    for (int i = 0; rc == UMPIRE_OK && i < n; i++) {
        /* t_i = start + i * duration / n; a frame within half a frame of it is at it */
        int64_t target = c.start + av_rescale(c.duration, i, n) - c.half;
        if (!c.have || frame_time(c.frame) < target) {
            if (c.have && av_rescale_q(target - frame_time(c.frame), tb, AV_TIME_BASE_Q) > AV_TIME_BASE) {
                /* more than a second ahead: seek to the key frame before it */
                if (av_seek_frame(c.fmt, c.stream, target, AVSEEK_FLAG_BACKWARD) >= 0) {
                    avcodec_flush_buffers(c.dec);
                    c.eof = 0;
                }
            }
            int r;
            while ((r = next_frame(&c, err)) == 0 && frame_time(c.frame) < target)
                ;
            if (r < 0) {
                rc = r;
                break;
            }
            if (r == 1) /* past the last frame: the clip is shorter than it said */
                break;
        }
        int64_t t = frame_time(c.frame);
        if (taken != AV_NOPTS_VALUE && t == taken)
            continue; /* the same frame again: more frames asked than the clip has */
        char file[64];
        snprintf(file, sizeof file, "/frame-%03zu.ppm", out->n);
        size_t flen = strlen(out->tmpdir) + strlen(file) + 1;
        if (!(out->paths[out->n] = malloc(flen))) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        snprintf(out->paths[out->n], flen, "%s%s", out->tmpdir, file);
        out->seconds[out->n] = (double)t * av_q2d(tb);
        out->n++; /* counted before it is written: a failed write is removed with the rest */
        rc = write_ppm(&c, out->paths[out->n - 1], err);
        taken = t;
    }
    if (rc == UMPIRE_OK && out->n == 0)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: no frames (the clip decodes to nothing)", path);
    close_clip(&c);
    if (rc != UMPIRE_OK)
        umpire_frames_free(out);
    return rc;
}

int umpire_item_images(const struct umpire_dataset_item *di, const char ***images, size_t *n,
                       struct umpire_frames *frames, char *err) {
    memset(frames, 0, sizeof *frames);
    *images = NULL;
    *n = 0;
    int rc = di->video ? umpire_video_frames(di->video, di->frames, frames, err) : UMPIRE_OK;
    if (rc != UMPIRE_OK)
        return rc;
    size_t m = di->n_images + frames->n;
    if (!(*images = malloc((m ? m : 1) * sizeof **images))) {
        umpire_frames_free(frames);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m; i++)
        (*images)[i] = i < di->n_images ? di->images[i] : frames->paths[i - di->n_images];
    *n = m;
    return UMPIRE_OK;
}

int umpire_video_frames(const char *path, int n, struct umpire_frames *out, char *err) {
    memset(out, 0, sizeof *out);
    if (n < 1 || n > UMPIRE_VIDEO_MAX_FRAMES)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: %d frames asked (expected 1..%d)", path, n, UMPIRE_VIDEO_MAX_FRAMES);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return from_dir(path, n, out, err);
    return from_clip(path, n, out, err);
}
