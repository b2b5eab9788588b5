/* opvangmatch maps: layer registry, colours and the candidate popup (built on click from compact rows).
 * Data reach the page only as JSON in one script element of type application/json (never as
 * template or script source); om.value(name) reads an element's part. Every string from data that is shown
 * as HTML arrives here already HTML-escaped by Python (html.escape); numbers are formatted here.
 * No inline style attributes: colours are set through the DOM (el.style), which the page's CSP allows. */
(function () {
  "use strict";
  var om = (window.opvangmatch = window.opvangmatch || { layers: {}, meta: {} });

  var store = null;
  om.value = function (name) {
    if (store === null) store = JSON.parse(document.getElementById("opvangmatch-data").textContent);
    return store[name];
  };

  /* Colour swatches in escaped HTML carry data-colour; paint them through the DOM (no style attribute). */
  om.paint = function (root) {
    var nodes = root.querySelectorAll("[data-colour]");
    for (var i = 0; i < nodes.length; i++) nodes[i].style.background = nodes[i].getAttribute("data-colour");
    return root;
  };

  om.regions = {};

  /* Create an element with a class and text (never HTML) and append it to a parent. */
  function el(parent, tag, cls, textValue) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (textValue !== undefined && textValue !== null) node.textContent = String(textValue);
    if (parent) parent.appendChild(node);
    return node;
  }
  om.el = el;

  /* A link only for http(s) URLs; its text is readable (the host), never the raw URL. */
  function link(parent, url, label) {
    if (typeof url !== "string" || !/^https?:\/\/[^\s]+$/.test(url)) return null;
    var a = el(parent, "a", "om-link", label);
    a.href = url; a.rel = "noopener noreferrer"; a.target = "_blank";
    return a;
  }
  om.link = link;

  /* The pinned task panel: one control, filled by om.pin(panel data) from a click or a search result. */
  om.taskPanel = function (d, map) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "om-panel om-hidden");
      L.DomEvent.disableScrollPropagation(box);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
    om.panel = { data: d, box: control.getContainer(), control: control, pinned: null };
    return control;
  };

  function fillTemplate(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function figures(box, p, T, loc, sources) {
    var table = el(box, "table", "om-figures");
    /* label and figure on one line, the explanation below them at full width (a third column would be narrow) */
    function row(label, value, note) {
      var tr = el(table, "tr");
      el(tr, "th", null, label);
      el(tr, "td", "om-num", value);
      var under = el(table, "tr", "om-note-row");
      var td = el(under, "td", "om-note", note || "");
      td.colSpan = 2;
      td.row = tr;
      return td;
    }
    var basis = T[p.basis] || p.basis;
    var src = row(T.required, number(p.required, loc, 0), basis);
    if (p.source) { el(src, "div", "om-source", T.source + ": " + p.source); }
    if (p.url) { var line = el(src, "div", "om-source", T.source + ": "); link(line, p.url, p.host); }
    var real = row(T.realised, number(p.realised, loc, 0), sources ? sources.realised : "");
    if (p.undated) { el(real, "div", "om-warn", fillTemplate(T.undated_places, { n: number(p.undated, loc, 0) })); }
    row(T.pipeline, number(p.pipeline, loc, 0), sources ? sources.pipeline : "");
    var gap = row(T.gap, number(p.gap, loc, 0), p.per1000 === null ? "" : number(p.per1000, loc, 1) + " " + T.per_1000);
    gap.row.className = "om-gap";
    if (p.share !== null) row(T.share_realised, percent(p.share, loc, 0), "");
    (p.extra || []).forEach(function (x) { row(T[x[0]] || x[0].replace(/_/g, " "), number(x[1], loc, 0), ""); });
    if (p.coverage) {
      var cov = row(T.coverage, "", p.coverage.source);
      cov.row.className = "om-coverage";
      if (p.coverage.url) link(el(cov, "div", "om-source", T.source + ": "), p.coverage.url, p.coverage.host);
    }
    return table;
  }

  om.pin = function (p, layer) {
    var P = om.panel;
    if (!P) return;
    var d = P.data, T = d.text, loc = d.locale, box = P.box;
    if (P.layer && P.layer.setStyle) { P.layer.setStyle({ weight: P.weight, color: P.colour }); }
    P.layer = null;
    if (layer && layer.setStyle) {
      P.layer = layer; P.weight = layer.options.weight; P.colour = layer.options.color;
      layer.setStyle({ weight: 4, color: "#000" });
      if (layer.bringToFront) layer.bringToFront();
    }
    P.pinned = p.code;
    box.textContent = "";
    box.classList.remove("om-hidden");
    var head = el(box, "div", "om-panel-head");
    el(head, "b", null, p.name + " (" + p.code + ")");
    var close = el(head, "button", "om-close", "\u00d7");
    close.title = T.panel_close; close.type = "button";
    close.addEventListener("click", function () { om.unpin(); });
    var sub = el(box, "div", "om-sub", number(p.population, loc, 0) + " " + T.population + " \u00b7 " + T.period + " " + d.period);
    if (p.province) { sub.appendChild(document.createTextNode(" \u00b7 " + T.province + " " + p.province[1])); }
    figures(box, p, T, loc, d.sources);
    if (d.note) el(box, "div", "om-warn", d.note);
    if (p.unlocated && p.unlocated.length) {
      el(box, "div", "om-sub", T.unlocated_short + ":");
      var ul = el(box, "ul", "om-list");
      p.unlocated.forEach(function (u) { el(ul, "li", null, u); });
    }
    var prov = p.province && d.provinces[p.province[0]];
    if (prov) {
      el(box, "div", "om-sub om-province-head", fillTemplate(T.province_totals, { name: prov.name }));
      figures(box, prov, T, loc, null).classList.add("om-province");
    }
    if (d.region_url) {
      var query = new URLSearchParams({ province: p.province ? p.province[0] : p.code, tiles: d.tiles, lang: d.lang });
      if (p.level === "municipality") query.set("municipality", p.code);
      var a = el(box, "a", "om-link om-region-link", fillTemplate(T.region_map, { name: p.name }));
      a.href = d.region_url + "?" + query.toString();
    }
    return box;
  };

  om.unpin = function () {
    var P = om.panel;
    if (!P) return;
    if (P.layer && P.layer.setStyle) { P.layer.setStyle({ weight: P.weight, color: P.colour }); }
    P.layer = null; P.pinned = null;
    P.box.textContent = "";
    P.box.classList.add("om-hidden");
  };

  om.register = function (key, layer, map) {
    layer.options.opvang = key;
    om.layers[key] = layer;
    om.map = map;
    return layer;
  };

  /* Count what a registered layer holds: candidates drawn on a canvas, features of a GeoJSON layer, markers. */
  om.count = function (key) {
    var layer = om.layers[key];
    return !layer ? -1 : layer.rows ? layer.rows.length : layer.getLayers().length;
  };

  /* Rebuild a GeoJSON FeatureCollection of MultiPolygons from layers.encode_areas: integer coordinates
   * (first point of a ring absolute, then deltas) and ragged offsets of rings, polygons and geometries. */
  om.decodeAreas = function (enc, props) {
    var c = enc.c, r = enc.r, p = enc.p, g = enc.g, s = enc.s, features = [];
    for (var gi = 0; gi < g.length - 1; gi++) {
      var polygons = [];
      for (var pi = g[gi]; pi < g[gi + 1]; pi++) {
        var rings = [];
        for (var ri = p[pi]; ri < p[pi + 1]; ri++) {
          var ring = [], x = 0, y = 0;
          for (var k = r[ri]; k < r[ri + 1]; k++) {
            x += c[2 * k]; y += c[2 * k + 1];
            if (k === r[ri]) { x = c[2 * k]; y = c[2 * k + 1]; }
            ring.push([x / s, y / s]);
          }
          rings.push(ring);
        }
        polygons.push(rings);
      }
      features.push({ type: "Feature", properties: props[gi] || {},
        geometry: { type: "MultiPolygon", coordinates: polygons } });
    }
    return { type: "FeatureCollection", features: features };
  };

  om.classColor = function (value, classes) {
    /* classes: [[upper bound or null, colour], ...] in ascending order; null value = no data. */
    if (value === null || value === undefined || isNaN(value)) return classes.nodata;
    for (var i = 0; i < classes.steps.length; i++) {
      var step = classes.steps[i];
      if (step[0] === null || value <= step[0]) return step[1];
    }
    return classes.steps[classes.steps.length - 1][1];
  };

  var formats = {};
  function formatter(locale, style, digits) {
    var key = locale + style + digits;
    if (!formats[key]) {
      formats[key] = new Intl.NumberFormat(locale, { style: style, minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    return formats[key];
  }
  function number(value, locale, digits) { return formatter(locale, "decimal", digits).format(value); }
  function percent(value, locale, digits) {
    return formatter(locale, "percent", digits === undefined ? 2 : digits).format(value);
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  om.number = number;
  om.percent = percent;

  /* row: [lat, lon, id, total, excluded, rank, capacity, [pf, prox, task], [share buurt, wijk, municipality],
   *       [[distance, estimate, nearest index, score, upper bound, (n500, n1000)], ... per category], closes, gap,
   *       flag set index, title or null,
   *       [band or null, share of proximity weight on measurements or null, use state 0 not accepted / 1 unknown / 2 suitable],
   *       [address, use, floor area, build year] or null, ([total, excluded, capacity] per profile; region maps)]
   * M: shared tables (labels, categories [key, label, weight, good m, too far m], names, flag sets (deciding ones first, M.deciding: how many),
   * weights, good shares, profile, vintage, locale). Every string in rows and M is HTML-escaped by Python. */
  om.candidatePopup = function (row, M) {
    if (row.length <= 7) return om.lightPopup(row, M);
    var T = M.text, loc = M.locale, html = [], about = row[15], all = M.flagsets[row[12]] || [];
    var cut = M.deciding ? M.deciding[row[12]] || 0 : 0, flags = [all.slice(0, cut), all.slice(cut)];
    var title = row[13] || (about && about[0]) || (T.building + " " + row[2]);
    html.push('<div class="om-popup"><b class="om-popup-title">' + title + "</b>");
    if (M.switch && om.currentProfile && row[16]) {
      var other = row[16][om.currentProfile];
      html.push('<div class="om-warn">' + fill(T.score_for_profile, { profile: M.switch[om.currentProfile].name,
        score: other[0] === null ? "-" : number(other[0], loc, 2) + (other[1] ? " (" + T.excluded + ")" : ""),
        main: M.switch[0].name }) + "</div>");
    }
    if (row[13] === null && about && about[0]) html.push('<div class="om-sub">' + T.building + " " + row[2] + "</div>");
    if (row[4]) {
      html.push('<div class="om-deciding">' + T.deciding + ": " + (flags[0].length ? flags[0].join("; ") : T.excluded) + "</div>");
      html.push('<div class="om-muted">' + T.score + " " + number(row[3], loc, 2) + " (" + T.score_not_applicable + ")</div>");
    } else {
      html.push(T.score + ' <b class="om-total">' + number(row[3], loc, 2) + "</b>");
      if (row[5]) html.push(" &middot; " + T.rank + " " + row[5]);
    }
    html.push("<br>" + T.capacity + " " + row[6] + " " + T.places);
    if (about) {
      var facts = [];
      if (about[1]) facts.push(T.use + ": " + about[1]);
      if (about[2] !== null) facts.push(T.floor_area + " " + number(about[2], loc, 0) + " m\u00b2");
      if (about[3] !== null) facts.push(T.build_year + " " + about[3]);
      if (facts.length) html.push('<div class="om-facts">' + facts.join(" &middot; ") + "</div>");
    }
    html.push('<table class="om-components">');
    for (var c = 0; c < M.components.length; c++) {
      var comp = M.components[c], value = row[7][c];
      html.push("<tr><td>" + T[comp[0]] + "</td><td>" + (value === null ? "-" : number(value, loc, 2)) +
        "</td><td>" + T.weight + " " + number(comp[1], loc, 2) + "</td></tr>");
    }
    html.push("</table><ul class=\"om-measures\">");
    for (var l = 0; l < M.levels.length; l++) {
      var share = row[8][l];
      if (share !== null) {
        html.push("<li>" + fill(T.share_of, {
          level: T[M.levels[l]], share: percent(share, loc), allowed: percent(M.good_share[l], loc)
        }) + "</li>");
      }
    }
    for (var k = 0; k < M.categories.length; k++) {
      var cat = M.categories[k], m = row[9][k], line, verdict = null, how;
      if (!cat[2]) continue; /* weight 0: not part of this profile's score */
      var d = m[0] !== null ? m[0] : m[1];
      if (m[0] !== null) {
        line = cat[1] + " " + (m[4] ? "\u2264 " : "") + number(m[0], loc, 0) + " m";
        if (m[2] !== null) line += ' <span class="om-nearest">(' + M.names[m[2]] + ")</span>";
        how = m[4] ? T.upper_bound : T.distance_measured;
      } else if (m[1] !== null) {
        line = cat[1] + " " + fill(T.estimate, { m: number(m[1], loc, 0) });
        how = T.estimated;
      } else {
        line = cat[1] + ": " + T.missing;
      }
      if (d !== null && cat[3] !== undefined) {
        verdict = d <= cat[3] ? "good" : m[0] !== null && m[4] ? "unsure" : d >= cat[4] ? "far" : "mid";
        line = '<span class="om-verdict om-' + verdict + '">' + T["verdict_" + verdict] + "</span> " + line;
        line += '<br><span class="om-threshold">' + fill(T.good_within, { good: number(cat[3], loc, 0), far: number(cat[4], loc, 0) }) +
          " &middot; " + how + "</span>";
      }
      if (m.length > 5) line += " &middot; " + fill(T.within, { n500: m[5], n1000: m[6] });
      html.push('<li data-category="' + cat[0] + '"' + (verdict ? ' data-verdict="' + verdict + '"' : "") + ">" + line + "</li>");
    }
    var v2 = row[14];
    if (v2) {
      if (v2[0]) html.push("<li>" + fill(T.band, { band: v2[0] }) + "</li>");
      if (v2[1] !== null) html.push('<li class="om-measured">' + fill(T.measured, { share: percent(v2[1], loc) }) + "</li>");
      html.push('<li class="om-use">' + T["use_state_" + v2[2]] + "</li>");
    }
    if (row[10] !== null) {
      html.push("<li>" + fill(T.closes, { closes: number(row[10], loc, 0), gap: number(Math.max(row[11] || 0, 0), loc, 0) }) + "</li>");
    }
    html.push("</ul>");
    if (flags[1].length) html.push('<div class="om-flags">' + T.flags + ": " + flags[1].join("; ") + "</div>");
    html.push('<div class="om-meta">' + T.profile + " " + M.profile + " &middot; " + T.vintage + " " + M.vintage +
      "<br>" + T.distance_note + "</div></div>");
    return html.join("");
  };

  /* A light row (large maps): [lat, lon, id, total, excluded, rank, capacity]; says where the details are. */
  om.lightPopup = function (row, M) {
    var T = M.text, loc = M.locale;
    return '<div class="om-popup"><b class="om-popup-title">' + T.building + " " + row[2] + "</b><br>" +
      T.score + " <b" + (row[4] ? ">" : ' class="om-total">') + number(row[3], loc, 2) + "</b>" +
      (row[4] ? ' <span class="om-excluded">(' + T.excluded + ")</span>" : " &middot; " + T.rank + " " + row[5]) +
      "<br>" + T.capacity + " " + row[6] + " " + T.places +
      '<div class="om-warn">' + T.light_note + "</div>" +
      '<div class="om-meta">' + T.profile + " " + M.profile + " &middot; " + T.vintage + " " + M.vintage + "</div></div>";
  };

  /* Lightness of a #rrggbb colour (0..1, sRGB luma) to pick black or white text on it. */
  function light(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16), b = parseInt(hex.substr(5, 2), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  om.light = light;

  /* Candidates on one canvas, without a Leaflet object per candidate (a province holds 100,000). Per zoom level a grid
   * of GRID px (fixed in world pixels, so clusters stay put while panning) groups the points whose cells touch the view;
   * a cell is drawn as a round badge coloured by the best score class it holds and labelled with its number, a cell of
   * one point (and every point from zoom clusterOff) as the point itself. Clicks are hit-tested here: a badge zooms
   * in, a point opens its popup (built on click from its row, om.candidatePopup). */
  var GRID = 60, MAX_LAT = 85.0511287798, candidatePopup = null;
  function worldX(lon) { return (lon + 180) / 360 * 256; } /* Leaflet's EPSG:3857 pixel at zoom 0 */
  function worldY(lat) {
    var s = Math.sin(Math.max(Math.min(lat, MAX_LAT), -MAX_LAT) * Math.PI / 180);
    return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
  }
  function badgeRadius(n) { return n < 10 ? 14 : n < 100 ? 17 : n < 1000 ? 20 : 23; }

  om.CandidateCanvas = L.Layer.extend({
    initialize: function (rows, meta, excluded, clusterOff) {
      this.meta = meta; this.excluded = excluded; this.clusterOff = clusterOff; this.drawn = [];
      this.setRows(rows);
    },
    /* The rows drawn and their scores (a row's own total unless ``totals`` gives another profile's). */
    setRows: function (rows, totals) {
      var n = rows.length;
      this.rows = rows; this.x = new Float64Array(n); this.y = new Float64Array(n); this.total = new Float64Array(n);
      for (var i = 0; i < n; i++) {
        var t = totals ? totals[i] : rows[i][3];
        this.x[i] = worldX(rows[i][1]); this.y[i] = worldY(rows[i][0]); this.total[i] = t === null ? NaN : t;
      }
      if (this._map) this.redraw();
      return this;
    },
    onAdd: function (map) {
      var pane = map.getPane("omCandidates");
      if (!pane) { pane = map.createPane("omCandidates"); pane.style.zIndex = 450; pane.style.pointerEvents = "none"; }
      this._canvas = L.DomUtil.create("canvas", "om-candidates leaflet-zoom-hide", pane);
      if (this.excluded) this._canvas.classList.add("om-candidates-excluded");
      map.on("moveend viewreset resize", this.redraw, this);
      map.on("click", this._onClick, this);
      map.on("mousemove", this._onHover, this);
      this.redraw();
    },
    onRemove: function (map) {
      map.off("moveend viewreset resize", this.redraw, this);
      map.off("click", this._onClick, this);
      map.off("mousemove", this._onHover, this);
      L.DomUtil.remove(this._canvas);
      this._canvas = null; this.drawn = [];
    },
    /* Group the points near the view into grid cells of the current zoom and draw them. */
    redraw: function () {
      var map = this._map;
      if (!map) return;
      var size = map.getSize(), z = map.getZoom(), k = Math.pow(2, z), pb = map.getPixelBounds(), ox = pb.min.x, oy = pb.min.y;
      var canvas = this._canvas, ratio = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      canvas.width = size.x * ratio; canvas.height = size.y * ratio;
      canvas.style.width = size.x + "px"; canvas.style.height = size.y + "px";
      var x = this.x, y = this.y, total = this.total, n = this.rows.length, items = [], cells = new Map();
      var clustered = z < this.clusterOff;
      var c0 = Math.floor(ox / GRID) - 1, c1 = Math.floor(pb.max.x / GRID) + 1;
      var r0 = Math.floor(oy / GRID) - 1, r1 = Math.floor(pb.max.y / GRID) + 1;
      for (var i = 0; i < n; i++) {
        var wx = x[i] * k, wy = y[i] * k;
        if (!clustered) {
          if (wx >= ox - 10 && wx <= pb.max.x + 10 && wy >= oy - 10 && wy <= pb.max.y + 10) {
            items.push({ n: 1, i: i, sx: wx, sy: wy, best: total[i] });
          }
          continue;
        }
        var cx = Math.floor(wx / GRID), cy = Math.floor(wy / GRID);
        if (cx < c0 || cx > c1 || cy < r0 || cy > r1) continue;
        var key = (cx - c0) * 100000 + (cy - r0), c = cells.get(key);
        if (!c) { c = { n: 0, i: i, sx: 0, sy: 0, best: -Infinity, x0: wx, x1: wx, y0: wy, y1: wy }; cells.set(key, c); items.push(c); }
        c.n++; c.sx += wx; c.sy += wy;
        if (total[i] > c.best) c.best = total[i];
        if (wx < c.x0) c.x0 = wx; if (wx > c.x1) c.x1 = wx; if (wy < c.y0) c.y0 = wy; if (wy > c.y1) c.y1 = wy;
      }
      var ctx = canvas.getContext("2d"), M = this.meta, loc = M.locale;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      for (var j = 0; j < items.length; j++) {
        var it = items[j], best = it.best;
        it.x = it.sx / it.n - ox; it.y = it.sy / it.n - oy;
        it.colour = this.excluded || !(best > -Infinity) || isNaN(best) ? M.classes.nodata : om.classColor(best, M.classes);
        if (it.n === 1) { this._point(ctx, it); continue; }
        it.r = badgeRadius(it.n); it.text = number(it.n, loc, 0);
        this._badge(ctx, it);
      }
      this.drawn = items;
    },
    _point: function (ctx, it) {
      it.r = this.excluded ? 4 : 6;
      ctx.beginPath(); ctx.arc(it.x, it.y, it.r, 0, 2 * Math.PI);
      ctx.globalAlpha = this.excluded ? 0.35 : 0.95; ctx.fillStyle = it.colour; ctx.fill();
      ctx.globalAlpha = 1; ctx.lineWidth = 1; ctx.strokeStyle = this.excluded ? "#555" : "#222"; ctx.stroke();
    },
    _badge: function (ctx, it) {
      ctx.globalAlpha = this.excluded ? 0.75 : 1;
      ctx.beginPath(); ctx.arc(it.x, it.y, it.r + 1, 0, 2 * Math.PI);
      ctx.lineWidth = 2; ctx.strokeStyle = "rgba(255, 255, 255, 0.8)"; ctx.stroke();
      ctx.beginPath(); ctx.arc(it.x, it.y, it.r - 1, 0, 2 * Math.PI);
      ctx.fillStyle = it.colour; ctx.fill();
      ctx.setLineDash(this.excluded ? [3, 2] : []); ctx.lineWidth = this.excluded ? 1 : 2;
      ctx.strokeStyle = this.excluded ? "#333" : "#222"; ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = light(it.colour) > 0.55 ? "#000" : "#fff";
      ctx.font = (this.excluded ? "" : "bold ") + "11px sans-serif";
      ctx.fillText(it.text, it.x, it.y);
      ctx.globalAlpha = 1;
    },
    /* The drawn badge or point at a container point (the topmost), or null. */
    at: function (point) {
      for (var j = this.drawn.length - 1; j >= 0; j--) {
        var it = this.drawn[j], dx = it.x - point.x, dy = it.y - point.y;
        if (dx * dx + dy * dy <= (it.r + 1) * (it.r + 1)) return it;
      }
      return null;
    },
    _onHover: function (e) {
      this._map.getContainer().classList.toggle("om-pointer", !!this.at(e.containerPoint));
    },
    _onClick: function (e) {
      var it = this.at(e.containerPoint), map = this._map;
      if (!it) return;
      if (it.n === 1) { this.openRow(this.rows[it.i]); return; }
      var k = Math.pow(2, map.getZoom()), crs = map.options.crs;
      var bounds = L.latLngBounds(crs.pointToLatLng(L.point(it.x0 / k, it.y0 / k), 0), crs.pointToLatLng(L.point(it.x1 / k, it.y1 / k), 0));
      var zoom = Math.max(map.getZoom() + 1, Math.min(map.getBoundsZoom(bounds, false, L.point(40, 40)), this.clusterOff));
      map.setView(bounds.getCenter(), Math.min(zoom, map.getMaxZoom()));
    },
    /* Open a row's popup (one popup for all candidates: reopened, not stacked while the last one fades out);
     * ``autoPan`` false: the caller keeps it in view. */
    openRow: function (row, autoPan) {
      var popup = candidatePopup = candidatePopup || L.popup({ maxWidth: 380, minWidth: 300, maxHeight: 480 });
      popup.options.autoPan = autoPan !== false;
      return popup.setLatLng([row[0], row[1]]).setContent(om.candidatePopup(row, this.meta)).openOn(this._map);
    },
    /* The lowest zoom (from ``zoom``) at which ``row`` has a grid cell of its own among the rows drawn. */
    aloneFrom: function (row, zoom) {
      var wx = worldX(row[1]), wy = worldY(row[0]), x = this.x, y = this.y;
      for (var z = zoom; z < this.clusterOff; z++) {
        var k = Math.pow(2, z), cx = Math.floor(wx * k / GRID), cy = Math.floor(wy * k / GRID), alone = true;
        for (var i = 0; i < x.length && alone; i++) {
          if (this.rows[i] !== row && Math.floor(x[i] * k / GRID) === cx && Math.floor(y[i] * k / GRID) === cy) alone = false;
        }
        if (alone) return z;
      }
      return Math.max(zoom, this.clusterOff);
    }
  });

  /* Is a drawn candidate (badge or point) at this container point? Area layers leave such clicks to the candidates. */
  om.candidateAt = function (point) {
    for (var key in om.layers) {
      var layer = om.layers[key];
      if (layer instanceof om.CandidateCanvas && layer._map && layer.at(point)) return true;
    }
    return false;
  };

  /* Open a candidate's popup from a list or a search: zoom until it has a cell of its own (if not yet drawn alone in
   * view), open, and keep the whole popup in view. */
  om.openCandidate = function (layer, row, done) {
    var map = om.map, zoom = Math.min(layer.aloneFrom(row, map.getZoom()), map.getMaxZoom());
    if (zoom > map.getZoom() || !map.getBounds().contains([row[0], row[1]])) map.setView([row[0], row[1]], zoom, { animate: false });
    var popup = layer.openRow(row, false);
    setTimeout(function () {
      if (popup.isOpen()) {
        var box = popup.getElement().getBoundingClientRect(), view = map.getContainer().getBoundingClientRect();
        var dx = box.left < view.left + 10 ? box.left - view.left - 10 : box.right > view.right - 10 ? box.right - view.right + 10 : 0;
        var dy = box.top < view.top + 10 ? box.top - view.top - 10 : box.bottom > view.bottom - 10 ? box.bottom - view.bottom + 10 : 0;
        if (dx || dy) map.panBy([dx, dy], { animate: false });
      }
      if (done) done();
    }, 30);
  };

  /* A service cluster: a grey-bordered square with the category letter, never a round score badge. */
  function serviceClusterIcon(d) {
    return function (cluster) {
      var div = document.createElement("div");
      div.className = "om-svc-cluster";
      var glyph = document.createElement("b");
      glyph.textContent = d.glyph;
      glyph.style.background = d.colour;
      div.appendChild(glyph);
      div.appendChild(document.createTextNode(String(cluster.getChildCount())));
      return L.divIcon({ html: div, className: "om-svc-cluster-icon", iconSize: [38, 20] });
    };
  }

  om.areaLayer = function (d, map) {
    return om.register(d.key, L.geoJSON(om.decodeAreas(d.areas, d.props), {
      style: function (f) {
        var s = Object.assign({}, d.style);
        if (f.properties.c) { s.fillColor = f.properties.c; }
        return s;
      },
      onEachFeature: function (f, layer) {
        if (f.properties.t) { layer.bindTooltip(f.properties.t, { sticky: true }); }
        if (f.properties.p) {
          om.regions[f.properties.p.code] = layer;
          layer.on("click", function (e) { if (!om.candidateAt(e.containerPoint)) om.pin(f.properties.p, layer); });
        }
      },
      interactive: d.interactive,
      /* The boundaries arrive simplified as one coverage (shared edges once); Leaflet's own simplification in screen
         pixels would simplify each area on its own again and open slivers between neighbours. */
      smoothFactor: 0
    }), map);
  };

  function dotIcon(colour, glyph) {
    var span = document.createElement("span");
    span.style.background = colour;
    span.textContent = glyph;
    return L.divIcon({ className: "om-icon", iconSize: [20, 20], html: span });
  }

  om.pointLayer = function (d, map) {
    var markers = d.rows.map(function (r) {
      var m = L.marker([r[0], r[1]], { icon: dotIcon(d.colour, d.glyph) });
      if (r[2]) { m.bindTooltip(r[2]); }
      if (r[3]) { m.bindPopup(r[3], { maxWidth: 320 }); }
      return m;
    });
    var group;
    if (d.cluster) {
      group = L.markerClusterGroup({ maxClusterRadius: 40, iconCreateFunction: serviceClusterIcon(d) });
      group.addLayers(markers);
    } else { group = L.featureGroup(markers); }
    return om.register(d.key, group, map);
  };

  om.lineLayer = function (d, map) {
    var parts = [];
    d.rows.forEach(function (r) {
      var style = { color: r[4], weight: 3 };
      /* r[6], when given: the walked route along the street network, [[lat, lon], ...] */
      parts.push(L.polyline(r[6] || [[r[0], r[1]], [r[2], r[3]]], style).bindTooltip(r[5]));
      parts.push(L.circleMarker([r[2], r[3]], { radius: 5, color: r[4], fill: true }).bindTooltip(r[5]));
    });
    return om.register(d.key, L.featureGroup(parts), map);
  };

  om.candidateLayer = function (d, map) {
    var meta = d.meta.ref ? om.meta[d.meta.ref] : d.meta;
    om.meta[d.key] = meta;
    var layer = new om.CandidateCanvas(d.rows, meta, d.excluded, d.cluster_off === null ? 0 : d.cluster_off);
    if (d.open_popup) {
      layer.once("add", function () { setTimeout(function () { layer.openRow(layer.rows[0]); }, 0); });
    }
    return om.register(d.key, layer, map);
  };

  om.legend = function (d, map) {
    var legend = L.control({ position: d.position });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", d.css_class);
      div.innerHTML = d.html;
      om.paint(div);
      if (om.renderScoreLegend) om.renderScoreLegend(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
    return legend;
  };

  /* Text of an HTML-escaped string from the rows (for export files): parsed inertly, never attached. */
  function plain(escaped) {
    if (escaped === null || escaped === undefined) return "";
    if (String(escaped).indexOf("&") < 0) return String(escaped); /* no entity: the text itself */
    return new DOMParser().parseFromString(String(escaped), "text/html").documentElement.textContent;
  }
  function csvField(value) {
    var text = String(value === null || value === undefined ? "" : value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text; /* no formula in a spreadsheet */
    return /[",;\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function download(name, type, text) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var a = document.createElement("a");
    a.href = url; a.download = name; a.className = "om-hidden";
    document.body.appendChild(a); a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 0);
    om.lastDownload = { name: name, type: type, text: text };
  }

  /* Filters, ranked list, export and print over the candidate layers (payload of CandidateTools). The rows of both
   * layers are one list ``all``; per filter or profile the candidates kept move to the layer of their state. */
  om.candidateTools = function (d, map) {
    var T = d.text, loc = d.locale;
    var inc = om.layers[d.keys[0]], exc = d.keys[1] ? om.layers[d.keys[1]] : null, M = om.meta[d.keys[0]];
    var all = inc.rows.concat(exc ? exc.rows : []);
    var state = { p: 0, smin: 0, smax: 1, cmin: 0, cmax: 100000, use: "", sort: "score", desc: true };
    var total = new Float64Array(all.length), capacity = new Float64Array(all.length);
    var shown = [], excludedShown = 0;
    om.tools = { state: state, all: all };

    function values(row) { return row[16] ? row[16][state.p] : [row[3], row[4], row[6]]; }
    function classesNow() { return M.switch ? M.switch[state.p].classes : M.classes; }

    om.renderScoreLegend = function (root) {
      var box = (root || document).querySelector(".om-score-legend");
      if (!box) return;
      var classes = classesNow();
      box.textContent = "";
      classes.steps.forEach(function (step, i) {
        var line = el(box, "div", "om-legend-row");
        var sw = el(line, "i"); sw.style.background = step[1];
        line.appendChild(document.createTextNode(classes.labels ? classes.labels[i] : ""));
      });
      var line = el(box, "div", "om-legend-row");
      var sw = el(line, "i"); sw.style.background = classes.nodata;
      line.appendChild(document.createTextNode(T.excluded));
    };

    /* Filter ``all`` by the state; returns [kept included rows, their totals, kept excluded rows]. */
    function filter() {
      var a = [], ta = [], b = [];
      shown = [];
      for (var i = 0; i < all.length; i++) {
        var row = all[i], v = values(row), out = v[1];
        total[i] = v[0] === null ? NaN : v[0]; capacity[i] = v[2];
        var ok = v[2] >= state.cmin && v[2] <= state.cmax &&
          (!state.use || (row[15] && row[15][1] && row[15][1].split(", ").indexOf(state.use) >= 0));
        if (!out) ok = ok && v[0] !== null && v[0] >= state.smin - 1e-9 && v[0] <= state.smax + 1e-9;
        if (!ok) continue;
        if (out) { b.push(row); } else { a.push(row); ta.push(v[0]); shown.push(i); }
      }
      excludedShown = b.length;
      return [a, ta, b];
    }

    function apply() {
      M.classes = classesNow();
      var kept = filter();
      inc.setRows(kept[0], kept[1]);
      if (exc) exc.setRows(kept[2]);
      om.renderScoreLegend();
      list();
    }

    function visible() {
      var b = map.getBounds(), s = b.getSouth(), n = b.getNorth(), w = b.getWest(), e = b.getEast();
      return shown.filter(function (i) { var r = all[i]; return r[0] >= s && r[0] <= n && r[1] >= w && r[1] <= e; });
    }

    function sorted(indices) {
      var key = { score: function (i) { return total[i]; }, capacity: function (i) { return capacity[i]; },
        id: function (i) { return all[i][2]; } }[state.sort];
      return indices.sort(function (x, y) {
        var a = key(x), b = key(y), c = a < b ? -1 : a > b ? 1 : 0;
        return state.desc ? -c : c;
      });
    }

    var control = L.control({ position: "topleft" }), box, body, count, table;
    control.onAdd = function () {
      box = L.DomUtil.create("div", "om-tools");
      L.DomEvent.disableScrollPropagation(box); L.DomEvent.disableClickPropagation(box);
      var toggle = el(box, "button", "om-tools-toggle", T.tools);
      toggle.type = "button";
      body = el(box, "div", "om-tools-body om-hidden");
      toggle.addEventListener("click", function () { body.classList.toggle("om-hidden"); list(); });
      function field(label) { var f = el(body, "label", "om-field"); el(f, "span", null, label); return f; }
      if (M.switch && M.switch.length > 1) {
        var sel = el(field(T.tools_profile), "select", "om-profile");
        M.switch.forEach(function (p, i) { var o = el(sel, "option", null, plain(p.label)); o.value = String(i); });
        sel.addEventListener("change", function () { state.p = +sel.value; om.currentProfile = state.p; apply(); });
      }
      function range(label, cls, lo, hi, step, keys) {
        var f = field(label), a = el(f, "input", cls + "-min"), b = el(f, "input", cls + "-max");
        [a, b].forEach(function (inp, i) {
          inp.type = "number"; inp.step = step; inp.min = lo; inp.max = hi; inp.value = i ? hi : lo;
          inp.addEventListener("change", function () {
            var v = parseFloat(inp.value);
            v = isNaN(v) ? (i ? hi : lo) : v;
            if (v === state[keys[i]]) return; /* a second change event (on blur) must not rebuild the list under a click */
            state[keys[i]] = v; apply();
          });
        });
      }
      range(T.tools_score, "om-score", 0, 1, "0.01", ["smin", "smax"]);
      range(T.tools_capacity, "om-capacity", 0, 100000, "1", ["cmin", "cmax"]);
      if (M.uses && M.uses.length) {
        var use = el(field(T.tools_use), "select", "om-use");
        el(use, "option", null, T.tools_all_uses).value = "";
        M.uses.forEach(function (u) { el(use, "option", null, plain(u)).value = u; });
        use.addEventListener("change", function () { state.use = use.value; apply(); });
      }
      count = el(body, "div", "om-note om-count");
      var buttons = el(body, "div", "om-buttons");
      [["tools_csv", exportCsv], ["tools_geojson", exportGeoJson], ["tools_print", printMap]].forEach(function (b) {
        var btn = el(buttons, "button", "om-" + b[0], T[b[0]]); btn.type = "button";
        btn.addEventListener("click", b[1]);
      });
      table = el(body, "table", "om-ranked");
      return box;
    };

    /* The ranked list: the first LIST_ROWS of the visible candidates (only while the panel is open). */
    var LIST_ROWS = 100;
    function list() {
      if (!table || body.classList.contains("om-hidden")) return;
      var vis = sorted(visible()), top = vis.slice(0, LIST_ROWS);
      count.textContent = fill(T.tools_visible, { n: number(vis.length, loc, 0), x: number(excludedShown, loc, 0) }) +
        "; " + fill(T.tools_list_note, { n: number(top.length, loc, 0) });
      table.textContent = "";
      var head = el(table, "tr");
      [["#", null], [T.tools_id, "id"], [T.score, "score"], [T.capacity, "capacity"]].forEach(function (h) {
        var th = el(head, "th", h[1] ? "om-sortable" : null, h[0] + (h[1] === state.sort ? (state.desc ? " \u25bc" : " \u25b2") : ""));
        if (h[1]) th.addEventListener("click", function () {
          state.desc = h[1] === state.sort ? !state.desc : h[1] !== "id"; state.sort = h[1]; list();
        });
      });
      top.forEach(function (i, n) {
        var tr = el(table, "tr", "om-ranked-row"), row = all[i];
        tr.setAttribute("data-id", plain(row[2]));
        el(tr, "td", null, n + 1);
        el(tr, "td", null, row[15] && row[15][0] ? plain(row[15][0]) : plain(row[2]));
        el(tr, "td", "om-num", number(total[i], loc, 3));
        el(tr, "td", "om-num", capacity[i]);
        tr.addEventListener("click", function () { om.openCandidate(inc, row); });
      });
    }

    function exportRows() {
      var profile = M.switch ? plain(M.switch[state.p].version) : plain(M.profile);
      return sorted(visible()).map(function (i) {
        var row = all[i], about = row[15] || [null, null, null, null];
        return { id: plain(row[2]), lat: row[0], lon: row[1], score: total[i], capacity: capacity[i], profile: profile,
          address: plain(about[0]), use: plain(about[1]), floor_area: about[2], build_year: about[3] };
      });
    }
    function exportCsv() {
      var rows = exportRows(), cols = ["id", "lat", "lon", "score", "capacity", "profile", "address", "use", "floor_area", "build_year"];
      var lines = [cols.join(",")].concat(rows.map(function (r) { return cols.map(function (c) { return csvField(r[c]); }).join(","); }));
      download("kandidaten.csv", "text/csv;charset=utf-8", "\ufeff" + lines.join("\r\n") + "\r\n");
    }
    function exportGeoJson() {
      var features = exportRows().map(function (r) {
        var props = Object.assign({}, r); delete props.lat; delete props.lon;
        return { type: "Feature", geometry: { type: "Point", coordinates: [r.lon, r.lat] }, properties: props };
      });
      download("kandidaten.geojson", "application/geo+json", JSON.stringify({ type: "FeatureCollection", features: features }));
    }
    function printMap() {
      var info = document.querySelector(".om-print-info") || el(map.getContainer(), "div", "om-print-info");
      info.textContent = "";
      el(info, "b", null, d.title);
      el(info, "div", null, T.printed + " " + new Date().toLocaleDateString(loc) + " \u00b7 " + T.profile + " " +
        (M.switch ? plain(M.switch[state.p].version) : plain(M.profile)) + " \u00b7 " + T.vintage + " " + d.vintage);
      document.body.classList.add("om-printing");
      window.print();
      document.body.classList.remove("om-printing");
    }
    om.tools.apply = apply; om.tools.list = list; om.tools.exportCsv = exportCsv;
    om.tools.exportGeoJson = exportGeoJson; om.tools.print = printMap;
    control.addTo(map);
    map.on("moveend", list);
    filter(); /* the state as drawn: nothing is drawn again at load */
    om.renderScoreLegend();
    return control;
  };

  /* Search: accents and case ignored, brackets are plain text, typos tolerated (edit distance 1 per word up to 7
   * letters, 2 beyond); the result is highlighted (a region is outlined and its panel pinned, a building's popup
   * opens, anything else gets a ring and its name). */
  function normal(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function distance(a, b, limit) {
    if (Math.abs(a.length - b.length) > limit) return limit + 1;
    var prev = [], cur = [], i, j;
    for (j = 0; j <= b.length; j++) prev[j] = j;
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      var best = i;
      for (j = 1; j <= b.length; j++) {
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (cur[j] < best) best = cur[j];
      }
      if (best > limit) return limit + 1;
      prev = cur;
    }
    return prev[b.length];
  }
  om.searchScore = function (query, title) {
    var q = normal(query).trim(), t = normal(title);
    if (!q) return null;
    var at = t.indexOf(q);
    if (at === 0) return 0;
    if (at > 0) return 1;
    var words = t.split(/[^a-z0-9]+/).filter(Boolean), total = 2;
    var parts = q.split(/[^a-z0-9]+/).filter(Boolean);
    if (!parts.length) return null;
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i], limit = part.length <= 3 ? 0 : part.length <= 7 ? 1 : 2, found = limit + 1;
      for (var k = 0; k < words.length && found > 0; k++) {
        var w = words[k];
        found = Math.min(found, distance(part, w, limit), w.length > part.length ? distance(part, w.slice(0, part.length), limit) : limit + 1);
      }
      if (found > limit) return null;
      total += found;
    }
    return total;
  };

  om.searchControl = function (d, map) {
    var records = {};
    d.index.forEach(function (r) { records[r.n] = r; });
    var control = new L.Control.Search({
      sourceData: function (text, callResponse) { callResponse(d.index); return { abort: function () {} }; },
      propertyName: "n", propertyLoc: ["a", "o"], initial: false, marker: false, tooltipLimit: 12,
      textPlaceholder: d.placeholder, textErr: d.not_found, textCancel: d.cancel, position: "topleft",
      filterData: function (text, all) {
        var scored = [];
        for (var title in all) {
          var score = om.searchScore(text, title);
          if (score !== null) scored.push([score, title]);
        }
        scored.sort(function (a, b) { return a[0] - b[0] || a[1].length - b[1].length; });
        var out = {};
        scored.slice(0, 12).forEach(function (x) { out[x[1]] = all[x[1]]; });
        return out;
      },
      moveToLocation: function (latlng, title) { om.showFound(records[title], latlng, map); },
      buildTip: function (text) { var li = L.DomUtil.create("li", ""); li.textContent = text; return li; }
    });
    map.addControl(control);
    om.search = control;
    return control;
  };

  om.showFound = function (r, latlng, map) {
    if (om.hit) { map.removeLayer(om.hit); om.hit = null; }
    r = r || {};
    var region = r.k && om.regions[r.k];
    if (region) {
      map.fitBounds(region.getBounds(), { maxZoom: 13 });
      om.pin(region.feature.properties.p, region);
      om.found = { kind: "region", key: r.k };
      return;
    }
    if (r.b) {
      var groups = [om.layers.candidates, om.layers.excluded].filter(Boolean);
      for (var g = 0; g < groups.length; g++) {
        var row = groups[g].rows.find(function (x) { return x[2] === r.b; });
        if (row) {
          if (!map.hasLayer(groups[g])) map.addLayer(groups[g]);
          om.openCandidate(groups[g], row);
          om.found = { kind: "building", key: r.b };
          return;
        }
      }
    }
    map.setView(latlng, r.z || 15);
    om.hit = L.circleMarker(latlng, { radius: 18, color: "#d7191c", weight: 4, fill: false, className: "om-search-hit" })
      .bindTooltip(document.createTextNode(r.n || ""), { permanent: true, direction: "top", offset: [0, -16] })
      .addTo(map);
    om.found = { kind: "place", key: r.n };
  };

  /* The layer control; names come from data (escaped here: Leaflet puts a layer's name into innerHTML). */
  om.layerControl = function (d, layers, map) {
    var base = {}, overlays = {};
    layers.forEach(function (layer, i) {
      var span = document.createElement("span");
      span.textContent = d.names[i];
      (d.overlay[i] ? overlays : base)[span.innerHTML] = layer;
    });
    L.control.scale({ metric: true, imperial: false, position: "bottomleft" }).addTo(map);
    var control = L.control.layers(base, overlays, { collapsed: false, position: "topright", autoZIndex: true }).addTo(map);
    L.DomUtil.addClass(control.getContainer(), "om-layers");
    return control;
  };
})();
