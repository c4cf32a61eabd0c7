// Package serve is `sgan serve`: a local web page to explore a model. One can browse samples by
// seed, move the truncation psi, switch the noise, pick the class of a conditional model, mix
// styles between two seeds, walk between seeds (an animated GIF), download any image, project an
// uploaded scan (reconstruction, difference, anomaly map, counterfactual), and watch a run
// folder still training (its loss curves and newest sample grid, the checkpoint reloaded as
// training rewrites it).
//
// # The page
//
// static/ (index.html, app.js, style.css, favicon.svg) is embedded in the binary: plain HTML,
// CSS and JavaScript without libraries, loading nothing from the network.
//
// # The API
//
// Every answer to bad input is HTTP 400 with one line of plain text naming the parameter and its
// bound (the Max* constants); 503 means the rendering queue is full or there is no model yet.
//
//	GET  /api/info                  the model, the device and the limits (JSON)
//	GET  /api/grid?start&count      renders seeds start..start+count-1 in one batch and answers
//	                                their image URLs (JSON); the images are then served from the cache
//	GET  /api/grid.png?start&count  the same page of seeds as one PNG
//	GET  /api/image.png?seed        one seed's image
//	GET  /api/mix.png?src&dst&layers   dst's image with src's styles in layers coarse|middle|fine
//	GET  /api/interp.gif?seeds=a,b&steps  the walk a -> b -> a in w, steps frames per leg
//	POST /api/project               multipart: scan (PNG/JPEG), steps, class, to_class; answers
//	                                the projection's id (202, JSON)
//	GET  /api/project/ID            its state and progress, then metrics and image URLs (JSON)
//	POST /api/project/ID/cancel     stops it between two steps
//	GET  /api/project/ID/NAME.png   target, recon, diff, anomaly, counterfactual, change
//	GET  /api/live                  a run folder's losses (decimated), newest grid, checkpoint (JSON)
//	GET  /api/live/grid.png         the newest stylegan_outputs/*.png
//
// Image requests take psi (0-1, default 1), noise (const|none), class (a conditional model's
// class name; default its first), scale (1-MaxScale: nearest-neighbour magnification) and
// download (answer as an attachment with a descriptive file name). Image URLs the server hands
// out carry v, the model's version: such answers are immutable and the browser may keep them.
//
// # Concurrency
//
// All libtorch work (loading, rendering, projecting) runs through one queue: a goroutine locked
// to one OS thread takes jobs one at a time from a bounded channel (maxQueue waiting; more get
// 503), skipping those whose request was cancelled while waiting. So any number of browser tabs
// is safe, and the torch package's process-wide scopes see one caller. Seeds of a grid are
// rendered in one batch on the model's device; rendered files are kept in an LRU cache
// (cacheBytes) keyed by the model's version, the seed and the look. A projection is queued like
// a render, runs with NVlabs' schedule over DefaultProjectSteps steps by default, and between
// its steps runs the quick jobs (renders) that arrived meanwhile, so the page stays usable;
// the page polls its progress. At most MaxProjections are queued or running.
//
// # Live runs
//
// For a run folder, a poller checks models/last.pt every Options.Poll and queues a reload when
// the file changes (training rewrites it atomically each epoch); the new generator replaces the
// old between two jobs, the cache is dropped and the page, which polls /api/live, redraws.
// losses.csv is read incrementally (a rewritten or shortened file is read again from the start).
//
// # Security
//
// The page has no authentication. `sgan serve` listens on 127.0.0.1 by default and warns when
// told to listen elsewhere. On a loopback address the server answers only requests whose Host is
// a loopback name (against DNS rebinding), and it refuses cross-origin POSTs. Uploads are capped
// at MaxUploadBytes and MaxUploadSide pixels a side, checked before decoding.
package serve
