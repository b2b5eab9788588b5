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
    function row(label, value, note) {
      var tr = el(table, "tr");
      el(tr, "th", null, label);
      el(tr, "td", "om-num", value);
      var td = el(tr, "td", "om-note", note || "");
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
    gap.parentNode.className = "om-gap";
    if (p.share !== null) row(T.share_realised, percent(p.share, loc, 0), "");
    (p.extra || []).forEach(function (x) { row(T[x[0]] || x[0].replace(/_/g, " "), number(x[1], loc, 0), ""); });
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

  /* Count what a registered layer holds: features of a GeoJSON layer, markers of a (cluster) group. */
  om.count = function (key) {
    var layer = om.layers[key];
    return layer ? layer.getLayers().length : -1;
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
   *       [[distance, estimate, nearest index, score, n500, n1000], ... per category], closes, gap, flag set index, title or null]
   * M: shared tables (labels, categories, names, flag sets, weights, good shares, profile, vintage, locale). */
  om.candidatePopup = function (row, M) {
    var T = M.text, loc = M.locale, html = [];
    html.push('<div class="om-popup"><b>' + (row[13] || T.building + " " + row[2]) + "</b><br>");
    html.push(T.score + " <b class=\"om-total\">" + number(row[3], loc, 2) + "</b>");
    if (row[4]) html.push(' <span class="om-excluded">(' + T.excluded + ")</span>");
    if (row[5]) html.push(" &middot; " + T.rank + " " + row[5]);
    html.push("<br>" + T.capacity + " " + row[6] + " " + T.places);
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
      var cat = M.categories[k], m = row[9][k], line;
      if (!cat[2]) continue; /* weight 0: not part of this profile's score */
      if (m[0] !== null) {
        line = cat[1] + " " + number(m[0], loc, 0) + " m";
        if (m[2] !== null) line += ' <span class="om-nearest">(' + M.names[m[2]] + ")</span>";
      } else if (m[1] !== null) {
        line = cat[1] + " " + fill(T.estimate, { m: number(m[1], loc, 0) });
      } else {
        line = cat[1] + ": " + T.missing;
      }
      if (m.length > 4) line += " &middot; " + fill(T.within, { n500: m[4], n1000: m[5] });
      html.push('<li data-category="' + cat[0] + '">' + line + "</li>");
    }
    if (row[10] !== null) {
      html.push("<li>" + fill(T.closes, { closes: number(row[10], loc, 0), gap: number(Math.max(row[11] || 0, 0), loc, 0) }) + "</li>");
    }
    html.push("</ul>");
    var flags = M.flagsets[row[12]];
    if (flags && flags.length) html.push('<div class="om-flags">' + T.flags + ": " + flags.join("; ") + "</div>");
    html.push('<div class="om-meta">' + T.profile + " " + M.profile + " &middot; " + T.vintage + " " + M.vintage +
      "<br>" + T.distance_note + "</div></div>");
    return html.join("");
  };

  om.candidateMarker = function (row, M, excluded) {
    var colour = row[4] ? M.classes.nodata : om.classColor(row[3], M.classes);
    var marker = L.circleMarker([row[0], row[1]], excluded ?
      { radius: 4, color: "#555", weight: 1, fillColor: colour, fillOpacity: 0.35, candidateId: row[2], total: row[3], excluded: 1 } :
      { radius: 6, color: "#222", weight: 1, fillColor: colour, fillOpacity: 0.95, candidateId: row[2], total: row[3], excluded: 0 });
    marker.omRow = row;
    marker.bindPopup(function () { return om.candidatePopup(row, M); }, { maxWidth: 360 });
    return marker;
  };

  /* Lightness of a #rrggbb colour (0..1, sRGB luma) to pick black or white text on it. */
  function light(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16), b = parseInt(hex.substr(5, 2), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  om.light = light;

  /* A candidate cluster: a round badge coloured by the best score class it holds, with the number of buildings. */
  om.candidateClusterIcon = function (cluster, M, excluded) {
    var children = cluster.getAllChildMarkers(), best = -Infinity;
    for (var i = 0; i < children.length; i++) {
      var v = children[i].options.total;
      if (v !== null && v > best) best = v;
    }
    var colour = excluded || best === -Infinity ? M.classes.nodata : om.classColor(best, M.classes);
    var n = cluster.getChildCount(), size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 46;
    var div = document.createElement("div");
    div.className = "om-cluster" + (excluded ? " om-cluster-excluded" : "");
    div.style.background = colour;
    div.style.color = light(colour) > 0.55 ? "#000" : "#fff";
    div.textContent = number(n, M.locale, 0);
    div.setAttribute("data-best", best === -Infinity ? "" : String(best));
    return L.divIcon({ html: div, className: "om-cluster-icon", iconSize: [size, size] });
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
          layer.on("click", function () { om.pin(f.properties.p, layer); });
        }
      },
      interactive: d.interactive
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
      parts.push(L.polyline([[r[0], r[1]], [r[2], r[3]]], style).bindTooltip(r[5]));
      parts.push(L.circleMarker([r[2], r[3]], { radius: 5, color: r[4], fill: true }).bindTooltip(r[5]));
    });
    return om.register(d.key, L.featureGroup(parts), map);
  };

  om.candidateLayer = function (d, map) {
    var meta = d.meta.ref ? om.meta[d.meta.ref] : d.meta;
    om.meta[d.key] = meta;
    var markers = d.rows.map(function (row) { return om.candidateMarker(row, meta, d.excluded); });
    var group;
    if (d.cluster) {
      var options = Object.assign({}, d.cluster, {
        iconCreateFunction: function (c) { return om.candidateClusterIcon(c, meta, d.excluded); }
      });
      group = L.markerClusterGroup(options);
      group.addLayers(markers);
    } else { group = L.featureGroup(markers); }
    if (d.open_popup) {
      group.once("add", function () { setTimeout(function () { group.getLayers()[0].openPopup(); }, 0); });
    }
    return om.register(d.key, group, map);
  };

  om.legend = function (d, map) {
    var legend = L.control({ position: d.position });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", d.css_class);
      div.innerHTML = d.html;
      om.paint(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
    return legend;
  };

  /* Leaflet Search over [{n: name, a: lat, o: lon}]; tips are built with textContent (names stay text). */
  om.searchControl = function (d, map) {
    var index = d.index;
    var control = new L.Control.Search({
      sourceData: function (text, callResponse) { callResponse(index); return { abort: function () {} }; },
      propertyName: "n", propertyLoc: ["a", "o"], initial: false, zoom: 16, marker: false,
      textPlaceholder: d.placeholder, position: "topleft",
      buildTip: function (text) { var li = L.DomUtil.create("li", ""); li.textContent = text; return li; }
    });
    map.addControl(control);
    om.search = control;
    return control;
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
